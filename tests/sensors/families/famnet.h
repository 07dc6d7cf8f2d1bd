/* famnet: network namespace helpers for the family tests. */
#ifndef YM_FAMNET_H
#define YM_FAMNET_H

/* Moves the calling process into a new network namespace with lo up;
 * exits 77 with the reason when the kernel refuses. */
void famnet_private(void);

#endif
