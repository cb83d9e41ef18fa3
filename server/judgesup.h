/*
 * judgesup.h - the privileged judge supervisor (its protocol: jproto.h).
 *
 * judgesup_main() runs in the process `tandem serve` forks while still
 * root; jclient.c is the other end, in the unprivileged network process.
 */
#ifndef TANDEM_JUDGESUP_H
#define TANDEM_JUDGESUP_H

#include <stdbool.h>

#include <sys/types.h>

#include <jansson.h>

#include "jproto.h"

/*
 * Serves the judge over sock until the other end closes it or breaks the
 * stream.  parent is the pid of the process that forked this one: if it
 * is no longer the parent (it died before the death signal was armed),
 * this returns at once.  Returns the process exit status.  Never returns
 * to the caller's event loop: call it in the forked child and exit with
 * its result.
 */
int judgesup_main(int sock, pid_t parent, unsigned workers, bool unsafe_no_cgroup);

/* Writes one frame of op with body's fields (consumed); 0 or -1. */
int judgesup_send(int fd, enum jproto_op op, json_t *body);

#endif
