/* sensor_netlink: process events from the netlink proc connector
 * (NETLINK_CONNECTOR, CN_IDX_PROC). Needs CAP_NET_ADMIN. The kernel drops
 * messages when the socket buffer is full and says so with ENOBUFS: each one
 * is counted as an overrun and logged (rate-limited). */
#include "sensor.h"
#include "buf.h"
#include "err.h"
#include "family_sock.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#define SN_RCVBUF (8 << 20)
/* messages read per system call (recvmmsg), each at most SN_MSG bytes: a
 * proc connector message is ~90 */
#define SN_BATCH 16
#define SN_MSG	 512

struct sensor {
	int fd;
	uint64_t ino; /* socket inode: its line in /proc/net/netlink */
	/* an overrun happened since lost was last read: the kernel drops every
	 * message after an ENOBUFS until the queue is empty again (drained),
	 * so lost is read at each tick until a read that follows the drain */
	int lost_stale;
	int drained; /* EAGAIN seen since the last overrun */
	int ignored; /* PROC_CN_MCAST_IGNORE sent (sn_quiesce): not again */
	int filtered; /* the kernel sends only the events the sensor uses */
	struct sensor_stats st;
	uint8_t rx[SN_BATCH][SN_MSG];
};

static struct log_ratelimit sn_rl = LOG_RATELIMIT_INIT(5, 60);

/* The proc connector's event filter (Linux 6.6+: struct proc_input, which
 * Debian 12's headers do not have): the listener names the events it
 * wants and the kernel sends it no other. Without it every thread that
 * names itself (prctl PR_SET_NAME: browsers, JVMs and runtimes do it for
 * each thread they start), every setsid, setgid and ptrace sends the agent
 * a message it does not use: a receive, a parse and often a wake-up. */
#define SN_EV_FORK 0x00000001u
#define SN_EV_EXEC 0x00000002u
#define SN_EV_UID  0x00000004u
#define SN_EV_EXIT 0x80000000u
#define SN_EV_WANT (SN_EV_FORK | SN_EV_EXEC | SN_EV_UID | SN_EV_EXIT)

struct sn_proc_input {
	uint32_t mcast_op;   /* enum proc_cn_mcast_op */
	uint32_t event_type; /* enum proc_cn_event: a mask of the events wanted */
};

/* op alone (every kernel), or with filter != 0 the 6.6+ form; an older
 * kernel ignores a message of that length without an error, so the caller
 * sends it only where the kernel takes it (sn_kernel_filters). */
static int sn_send_op(int fd, enum proc_cn_mcast_op op, uint32_t filter)
{
	/* nlmsghdr | cn_msg | op (or proc_input), laid out by hand: cn_msg
	 * ends in a flexible array, so it cannot sit inside a struct */
	uint8_t msg[NLMSG_HDRLEN + sizeof(struct cn_msg) + sizeof(struct sn_proc_input)];
	size_t body = filter ? sizeof(struct sn_proc_input) : sizeof(enum proc_cn_mcast_op);
	size_t len = NLMSG_HDRLEN + sizeof(struct cn_msg) + body;
	struct sn_proc_input in = {.mcast_op = (uint32_t)op, .event_type = filter};
	struct nlmsghdr nl;
	struct cn_msg cn;
	struct sockaddr_nl to;

	memset(msg, 0, sizeof(msg));
	memset(&nl, 0, sizeof(nl));
	memset(&cn, 0, sizeof(cn));
	nl.nlmsg_len = (uint32_t)len;
	nl.nlmsg_type = NLMSG_DONE;
	nl.nlmsg_pid = 0;
	cn.id.idx = CN_IDX_PROC;
	cn.id.val = CN_VAL_PROC;
	cn.len = (uint16_t)body;
	memcpy(msg, &nl, sizeof(nl));
	memcpy(msg + NLMSG_HDRLEN, &cn, sizeof(cn));
	if (filter)
		memcpy(msg + NLMSG_HDRLEN + sizeof(cn), &in, sizeof(in));
	else
		memcpy(msg + NLMSG_HDRLEN + sizeof(cn), &op, sizeof(op));
	memset(&to, 0, sizeof(to));
	to.nl_family = AF_NETLINK;
	if (sendto(fd, msg, len, 0, (struct sockaddr *)&to, sizeof(to)) != (ssize_t)len)
		return YM_E_IO;
	return 0;
}

/* Whether the running kernel takes the event filter: 6.6 or later. */
static int sn_kernel_filters(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;

	if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return 0;
	return major > 6 || (major == 6 && minor >= 6);
}

static int sn_start(struct sensor **out)
{
	struct sensor *s = NULL;
	struct sockaddr_nl sa;
	int rcv = SN_RCVBUF, r = YM_E_NOMEM;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto out;
	s->fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	r = YM_E_IO;
	if (s->fd < 0)
		goto out;
	/* FORCE passes rmem_max (we are root); plain RCVBUF is the fallback */
	if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0 &&
	    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)) < 0)
		LOG_W("sensor", "W3301", "cannot enlarge netlink receive buffer: %s",
		      strerror(errno));
	memset(&sa, 0, sizeof(sa));
	sa.nl_family = AF_NETLINK;
	sa.nl_groups = CN_IDX_PROC;
	sa.nl_pid = 0; /* let the kernel pick a unique port id */
	{
		struct stat sb;
		if (fstat(s->fd, &sb) == 0)
			s->ino = sb.st_ino;
	}
	if (bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = (errno == EPERM || errno == EACCES) ? YM_E_AUTH : YM_E_IO;
		goto out;
	}
	s->filtered = sn_kernel_filters();
	if (sn_send_op(s->fd, PROC_CN_MCAST_LISTEN, s->filtered ? SN_EV_WANT : 0)) {
		r = (errno == EPERM || errno == EACCES) ? YM_E_AUTH : YM_E_IO;
		goto out;
	}
	LOG_I("sensor", "proc connector: %s",
	      s->filtered ? "fork, exec, uid and exit events only (kernel filter)"
			  : "every event (no kernel filter before Linux 6.6)");
	*out = s;
	s = NULL;
	r = 0;
out:
	if (s) {
		int e = errno;
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		errno = e;
	}
	return r;
}

static int sn_fd(const struct sensor *s)
{
	return s->fd;
}

/* Parses one datagram: nlmsghdr | cn_msg | proc_event, all length-checked. */
static void sn_parse(struct sensor *s, const uint8_t *p, size_t n, int64_t mono_to_wall,
		     void (*cb)(void *arg, const struct sensor_msg *m), void *arg)
{
	struct cursor c;
	const uint8_t *b;
	struct nlmsghdr nl;
	struct cn_msg cn;
	struct proc_event ev;
	struct sensor_msg m;
	size_t evlen;

	cursor_init(&c, p, n);
	if (cursor_get_bytes(&c, sizeof(nl), &b))
		goto bad;
	memcpy(&nl, b, sizeof(nl));
	if (nl.nlmsg_len < sizeof(nl) || nl.nlmsg_len > n)
		goto bad;
	if (nl.nlmsg_type == NLMSG_ERROR || nl.nlmsg_type == NLMSG_NOOP)
		return;
	if (cursor_get_bytes(&c, sizeof(cn), &b))
		goto bad;
	memcpy(&cn, b, sizeof(cn));
	if (cn.id.idx != CN_IDX_PROC || cn.id.val != CN_VAL_PROC)
		goto bad;
	evlen = cn.len;
	if (evlen > cursor_left(&c) || evlen < offsetof(struct proc_event, event_data))
		goto bad;
	memset(&ev, 0, sizeof(ev));
	if (cursor_get_bytes(&c, evlen, &b))
		goto bad;
	memcpy(&ev, b, evlen < sizeof(ev) ? evlen : sizeof(ev));
	memset(&m, 0, sizeof(m));
	m.ts_ns = (uint64_t)((int64_t)ev.timestamp_ns + mono_to_wall);
	switch (ev.what) {
	case PROC_EVENT_FORK:
		if (evlen < offsetof(struct proc_event, event_data) + sizeof(ev.event_data.fork))
			goto bad;
		/* threads are not processes */
		if (ev.event_data.fork.child_pid != ev.event_data.fork.child_tgid)
			return;
		m.type = SENSOR_MSG_FORK;
		m.pid = ev.event_data.fork.child_tgid;
		m.ppid = ev.event_data.fork.parent_tgid;
		break;
	case PROC_EVENT_EXEC:
		if (evlen < offsetof(struct proc_event, event_data) + sizeof(ev.event_data.exec))
			goto bad;
		m.type = SENSOR_MSG_EXEC;
		m.pid = ev.event_data.exec.process_tgid;
		break;
	case PROC_EVENT_EXIT:
		if (evlen < offsetof(struct proc_event, event_data) +
				offsetof(struct exit_proc_event, parent_pid))
			goto bad;
		if (ev.event_data.exit.process_pid != ev.event_data.exit.process_tgid)
			return;
		m.type = SENSOR_MSG_EXIT;
		m.pid = ev.event_data.exit.process_tgid;
		m.ppid = ev.event_data.exit.parent_tgid; /* 0 on kernels before 4.18 */
		m.exit_code = ev.event_data.exit.exit_code;
		break;
	case PROC_EVENT_UID:
		if (evlen < offsetof(struct proc_event, event_data) + sizeof(ev.event_data.id))
			goto bad;
		/* one message per thread (the C library changes them all) */
		if (ev.event_data.id.process_pid != ev.event_data.id.process_tgid)
			return;
		m.type = SENSOR_MSG_UID;
		m.pid = ev.event_data.id.process_tgid;
		m.uid = ev.event_data.id.r.ruid;
		break;
	default:
		return; /* ack, gid, sid, comm...: not used */
	}
	s->st.msgs++;
	cb(arg, &m);
	return;
bad:
	s->st.malformed++;
}

static int sn_poll(struct sensor *s, int max, void (*cb)(void *arg, const struct sensor_msg *m),
		   void *arg)
{
	int64_t mono_to_wall = (int64_t)(util_now_ns() - util_mono_ns());
	int done = 0;

	while (done < max) {
		struct mmsghdr mm[SN_BATCH];
		struct iovec iov[SN_BATCH];
		struct sockaddr_nl from[SN_BATCH];
		int want = max - done < SN_BATCH ? max - done : SN_BATCH, got;

		memset(mm, 0, sizeof(mm[0]) * (size_t)want);
		for (int i = 0; i < want; i++) {
			iov[i].iov_base = s->rx[i];
			iov[i].iov_len = sizeof(s->rx[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
			mm[i].msg_hdr.msg_name = &from[i];
			mm[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}
		got = recvmmsg(s->fd, mm, (unsigned)want, MSG_DONTWAIT, NULL);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				s->drained = 1;
				break;
			}
			if (errno == ENOBUFS) {
				s->st.overruns++;
				s->lost_stale = 1;
				s->drained = 0;
				if (log_ratelimit_ok(&sn_rl))
					LOG_W("sensor", "W3302",
					      "netlink receive buffer overrun: process events lost "
					      "(%llu overruns so far)",
					      (unsigned long long)s->st.overruns);
				continue;
			}
			return YM_E_IO;
		}
		for (int i = 0; i < got; i++) {
			done++;
			/* only the kernel (port 0) speaks for the proc connector;
			 * a message cut short (larger than a buffer) is not one */
			if (mm[i].msg_hdr.msg_namelen != sizeof(from[i]) || from[i].nl_pid != 0 ||
			    (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				s->st.malformed++;
				continue;
			}
			sn_parse(s, s->rx[i], mm[i].msg_len, mono_to_wall, cb, arg);
		}
		/* fewer than asked: the queue ran dry (an overrun met on the
		 * way is kept by the kernel for the next call, which then
		 * clears this again), so no call is made only to hear EAGAIN:
		 * one message per wake-up is the netlink mode's usual case,
		 * and that call was a third of its receives */
		if (got < want) {
			s->drained = 1;
			break;
		}
	}
	return done;
}

static void sn_stats(struct sensor *s, struct sensor_stats *out)
{
	uint64_t drops;

	if (s->lost_stale && s->ino) {
		int drained = s->drained; /* before the read: drops up to it counted */

		if (family_sock_netlink_drops(s->ino, &drops) == 0) {
			s->st.lost = drops;
			if (drained)
				s->lost_stale = 0;
		}
	}
	*out = s->st;
}

/* At the stop, before the last polls: the listener count this socket
 * added goes back (once: the count is the kernel's, shared with every other
 * listener) and the socket leaves the group, so nothing more is queued to it;
 * what is queued stays readable. */
static void sn_quiesce(struct sensor *s)
{
	int grp = CN_IDX_PROC;

	if (s->ignored)
		return;
	(void)sn_send_op(s->fd, PROC_CN_MCAST_IGNORE, 0);
	s->ignored = 1;
	if (setsockopt(s->fd, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &grp, sizeof(grp)) != 0)
		LOG_D("sensor", "cannot leave the proc connector group: %s", strerror(errno));
}

static void sn_stop(struct sensor *s)
{
	if (!s)
		return;
	if (!s->ignored)
		sn_send_op(s->fd, PROC_CN_MCAST_IGNORE, 0);
	close(s->fd);
	free(s);
}

const struct sensor_ops sensor_netlink_ops = {
    .name = "netlink",
    .start = sn_start,
    .fd = sn_fd,
    .poll = sn_poll,
    .quiesce = sn_quiesce,
    .stats = sn_stats,
    .stop = sn_stop,
};
