/* seqgen: the agent's event sequence numbers: from 1, strictly increasing,
 * never reused across restarts or crashes.
 *
 * The file holds the first number not yet reserved. Numbers are reserved in
 * blocks: before a number of a new block is handed out, the new end of the
 * reservation is written and fsync'd (file and directory). A restart starts
 * after the last reservation, so a crash skips at most one block of numbers
 * and never repeats one. Not thread-safe: one owner (the collector). */
#ifndef YM_AGENT_SEQGEN_H
#define YM_AGENT_SEQGEN_H

#include <stdint.h>

struct seqgen;

/* Opens the counter at dir/name (dir must exist). Returns 0, YM_E_INVAL
 * (block 0 or unreadable content), YM_E_IO or YM_E_NOMEM. */
int seqgen_open(const char *dir, const char *name, uint64_t block, struct seqgen **out);
void seqgen_close(struct seqgen *sg);

/* On a clean stop: gives back the reserved but unused numbers by persisting
 * the next number exactly, so the next run continues without a gap (after a
 * crash the next run starts past the whole reserved block instead). Call only
 * once every number handed out is in the spool. Returns 0 or YM_E_IO (the
 * reservation stays; the next run skips the rest of the block). */
int seqgen_release(struct seqgen *sg);

/* Hands out the next number. Returns 0, or YM_E_IO when the reservation
 * could not be persisted (no number is handed out: the caller drops the
 * event and counts it). */
int seqgen_next(struct seqgen *sg, uint64_t *seq);

/* The number the next call would hand out. */
uint64_t seqgen_peek(const struct seqgen *sg);

#endif
