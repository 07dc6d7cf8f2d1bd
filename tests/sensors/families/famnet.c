#include "famnet.h"
#include "famtest.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

void famnet_private(void)
{
	struct ifreq ifr;
	int s;

	if (unshare(CLONE_NEWNET) != 0) {
		printf("SKIP: cannot create a network namespace: %s\n", strerror(errno));
		exit(FT_SKIP);
	}
	s = socket(AF_INET, SOCK_DGRAM, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
		fprintf(stderr, "FAIL: lo: %s\n", strerror(errno));
		exit(1);
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) {
		fprintf(stderr, "FAIL: lo up: %s\n", strerror(errno));
		exit(1);
	}
	close(s);
}
