/* Guest logging and panics.
 *
 * nub_logf() formats one line into the log ring (struct nub_log_ring, read
 * by the host) and notifies the host through NUB_PORT_LOG. nub_panic()
 * puts its message in the mailbox and exits through NUB_PORT_ABORT; it
 * never returns. The formatter understands %s %c %d %i %u %x %p %% with the
 * length modifiers l, ll and z and a width with optional 0 flag: enough for
 * addresses and counts, and small enough to run emulated. */
#ifndef NUB_GUEST_LOG_H
#define NUB_GUEST_LOG_H

#include <stdarg.h>
#include <stddef.h>

#include "nub/abi.h"

#define NUB_LOG_LINE_MAX 240 /* bytes per log line, newline included */

/* Where lines and panic messages go. Either may be NULL (then dropped). */
void nub_log_attach(struct nub_log_ring *ring, struct nub_mailbox *mb);

void nub_logf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

_Noreturn void nub_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* snprintf-alike: writes at most cap-1 characters and a NUL (if cap > 0);
 * returns the number of characters written (not the untruncated length). */
size_t nub_vfmt(char *buf, size_t cap, const char *fmt, va_list ap);
size_t nub_fmt(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif /* NUB_GUEST_LOG_H */
