/*
 * judgesup.h - the privileged judge supervisor and its framing.
 *
 * judgesup_main() runs in the process `tandem serve` forks while still
 * root; jclient.c is the other end, in the unprivileged network process.
 */
#ifndef TANDEM_JUDGESUP_H
#define TANDEM_JUDGESUP_H

#include <stdbool.h>

#include <jansson.h>

/*
 * Serves the judge over sock until the other end closes it.  Returns the
 * process exit status.  Never returns to the caller's event loop: call it
 * in the forked child and exit with its result.
 */
int judgesup_main(int sock, unsigned workers, bool unsafe_no_cgroup);

/* Writes one frame (4-byte big-endian length + compact JSON); consumes msg. */
int judgesup_send(int fd, json_t *msg);

#endif
