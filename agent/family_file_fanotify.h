/* family_file_fanotify: file family, mode "fanotify": directory marks with
 * FAN_REPORT_DFID_NAME_TARGET (5.17+; else FAN_REPORT_DFID_NAME) on the
 * watched folders (a TREE entry marks every folder below it, new ones as
 * they appear, renamed ones under their new path), events filtered against
 * family_file_watch in user space. */
#ifndef YM_AGENT_FAMILY_FILE_FANOTIFY_H
#define YM_AGENT_FAMILY_FILE_FANOTIFY_H

#include "family.h"

#define FAMILY_FILE_FANOTIFY_MARKS 4096 /* folders marked; more are counted, not marked */

extern const struct family_ops family_file_fanotify_ops;

#endif
