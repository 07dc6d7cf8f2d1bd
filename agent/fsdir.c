#include "fsdir.h"
#include "err.h"

#include <fcntl.h>
#include <unistd.h>

int fsdir_sync(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = YM_E_IO;

	if (fd < 0)
		return YM_E_IO;
	if (fsync(fd) == 0)
		r = 0;
	close(fd);
	return r;
}
