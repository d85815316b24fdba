/* Formatting an error message into a caller's buffer: the one helper
 * behind every "char *err, size_t errlen" parameter of the host code. */
#ifndef NUB_ERRBUF_H
#define NUB_ERRBUF_H

#include <stddef.h>

/* printf into err; does nothing when err is NULL or errlen is 0 (callers
 * that do not want the text pass NULL). Truncates, always NUL-terminates. */
void nub_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* NUB_ERRBUF_H */
