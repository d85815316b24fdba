/* Error messages into caller buffers (see errbuf.h). */
#include "errbuf.h"

#include <stdarg.h>
#include <stdio.h>

void nub_set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}
