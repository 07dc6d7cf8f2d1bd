/* pathwalk.h: the dentry walk of the eBPF programs (proc.bpf.c, file.bpf.c):
 * a path's components written leaf first, NUL-terminated, into a per-CPU
 * scratch buffer, crossing mount points. The including program defines
 * walk_buf(buf, &mask) (declared here): its scratch buffer number buf (a
 * map value) and the mask of offsets in it; the value must hold
 * mask + 1 + YM_WALK_NAME_MAX bytes. */
#ifndef YM_AGENT_BPF_PATHWALK_H
#define YM_AGENT_BPF_PATHWALK_H

#include "ymbpf.h" /* bpf_rdonly_cast */

#define YM_WALK_NAME_MAX 256 /* bytes of one component, with its NUL */

/* Path walks run under bpf_loop (kernel 5.17+): the verifier checks the
 * callback once instead of every iteration. The callback finds its buffer
 * again through the map: a pointer kept in the context would not do. */
struct walk {
	__u32 buf;  /* walk_buf's buffer number */
	__u32 off;  /* next write, relative to the buffer's start */
	__u32 start;
	__u32 lim;
	__u32 trunc; /* 1 when the path did not fit */
	__u32 pad;
	struct dentry *d;
	struct mount *mnt;
	struct kernfs_node *kn;
};

/* defined by the including program */
static __always_inline char *walk_buf(__u32 buf, __u32 *mask);

/* Writes name, a component, at w->off (leaf first, NUL-terminated) and
 * moves the walk on to parent: 0, or 1 to stop (it did not fit: w->trunc
 * set). data, mask: walk_buf's. */
static __always_inline long walk_put(struct walk *w, char *data, __u32 mask,
				     const unsigned char *name, struct dentry *parent)
{
	long n;

	if (w->off - w->start + YM_WALK_NAME_MAX > w->lim) {
		w->trunc = 1;
		return 1;
	}
	n = bpf_probe_read_kernel_str(&data[w->off & mask], YM_WALK_NAME_MAX, name);
	if (n <= 0) {
		w->trunc = 1;
		return 1;
	}
	w->off += (__u32)n;
	w->d = parent;
	return 0;
}

/* A step's links: *d's parent and the root of mount *dm. direct (a
 * constant): *d and *dm are made BTF pointers (bpf_rdonly_cast: plain
 * loads through them from then on) and read so, else through the helper. */
static __always_inline void walk_links(struct dentry **d, struct mount **dm, struct dentry **parent,
				       struct dentry **mroot, int direct)
{
	if (direct) {
		*d = bpf_rdonly_cast(*d, bpf_core_type_id_kernel(struct dentry));
		*dm = bpf_rdonly_cast(*dm, bpf_core_type_id_kernel(struct mount));
		*parent = (*d)->d_parent;
		*mroot = (*dm)->mnt.mnt_root;
	} else {
		*parent = BPF_CORE_READ(*d, d_parent);
		*mroot = BPF_CORE_READ(*dm, mnt.mnt_root);
	}
}

/* One step of a dentry walk: writes the current component (leaf first,
 * NUL-terminated) or crosses a mount point. Returns 1 to stop. direct (a
 * constant): the dentry and the mount are read with plain loads through
 * bpf_rdonly_cast (ymbpf.h; kernel 6.2+), else a bpf_probe_read_kernel
 * call per field. */
static __always_inline long path_step_do(struct walk *w, int direct)
{
	struct dentry *d = w->d, *parent, *mroot;
	struct mount *mnt = w->mnt, *dm = mnt;
	const unsigned char *name;
	__u32 mask = 0;
	char *data = walk_buf(w->buf, &mask);
	long n;

	if (!data || !d)
		return 1;
	walk_links(&d, &dm, &parent, &mroot, direct);
	if (d == mroot || d == parent) {
		struct mount *mp = direct ? dm->mnt_parent : BPF_CORE_READ(mnt, mnt_parent);
		if (mp != mnt && d == mroot) {
			w->d = direct ? dm->mnt_mountpoint : BPF_CORE_READ(mnt, mnt_mountpoint);
			w->mnt = mp;
			return 0;
		}
		/* the root, or a mount attached nowhere (memfd): the name of an
		 * unattached root is all there is, as /proc shows it */
		if (w->off == w->start) {
			name = direct ? d->d_name.name : BPF_CORE_READ(d, d_name.name);
			n = bpf_probe_read_kernel_str(&data[w->off & mask], YM_WALK_NAME_MAX, name);
			if (n > 1 && data[w->off & mask] != '/')
				w->off += (__u32)n;
		}
		w->d = NULL;
		return 1;
	}
	name = direct ? d->d_name.name : BPF_CORE_READ(d, d_name.name);
	return walk_put(w, data, mask, name, parent);
}

static long path_step(__u32 i, void *arg)
{
	return path_step_do(arg, 0);
}

static long path_step_dl(__u32 i, void *arg)
{
	return path_step_do(arg, 1);
}

/* Writes the components of path p into buffer buf from off, leaf first,
 * crossing mount points, at most depth components and lim bytes (a
 * component is written only with YM_WALK_NAME_MAX bytes of room left).
 * Returns the bytes written; sets trunc_flag in *flags when it did not fit.
 * direct (a constant): plain loads, as path_step_do. */
static __always_inline __u32 put_path(__u32 buf, __u32 off, __u32 lim, const struct path *p,
				      __u32 depth, __u32 *flags, __u32 trunc_flag, int direct)
{
	const struct path *dp =
	    direct ? bpf_rdonly_cast(p, bpf_core_type_id_kernel(struct path)) : p;
	struct vfsmount *vm = direct ? dp->mnt : BPF_CORE_READ(p, mnt);
	struct walk w = {
	    .buf = buf,
	    .off = off,
	    .start = off,
	    .lim = lim,
	    .d = direct ? dp->dentry : BPF_CORE_READ(p, dentry),
	    .mnt = (void *)vm - bpf_core_field_offset(struct mount, mnt),
	};

	if (!w.d || !vm)
		return 0;
	bpf_loop(depth, direct ? path_step_dl : path_step, &w, 0);
	/* still walking after the last step: deeper than the bound */
	if (w.trunc || w.d)
		*flags |= trunc_flag;
	return w.off - w.start;
}

#endif
