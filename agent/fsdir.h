/* fsdir: directory durability helpers for the agent's state and spool. */
#ifndef YM_AGENT_FSDIR_H
#define YM_AGENT_FSDIR_H

/* fsyncs the directory dir so that renames and unlinks in it survive a
 * crash. Returns 0 or YM_E_IO. Thread-safe. */
int fsdir_sync(const char *dir);

#endif
