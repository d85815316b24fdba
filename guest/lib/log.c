/* Log ring writer, a tiny printf, and panic (see nub/guest_log.h). */
#include <stdint.h>

#include "nub/guest_arch.h"
#include "nub/guest_log.h"

static struct nub_log_ring *log_ring;
static struct nub_mailbox *log_mailbox;

void nub_log_attach(struct nub_log_ring *ring, struct nub_mailbox *mb)
{
    log_ring = ring;
    log_mailbox = mb;
}

struct out {
    char *buf;
    size_t cap, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len++] = c;
}

/* width: minimum digits (zero or space padded, sign included). */
static void put_num(struct out *o, uint64_t v, unsigned base, int neg, unsigned width, char pad)
{
    char tmp[24];
    unsigned n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg && pad == '0')
        put(o, '-');
    for (unsigned w = n + (neg ? 1 : 0); w < width; w++)
        put(o, pad);
    if (neg && pad != '0')
        put(o, '-');
    while (n)
        put(o, tmp[--n]);
}

size_t nub_vfmt(char *buf, size_t cap, const char *fmt, va_list ap)
{
    struct out o = {buf, cap, 0};
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(&o, *p);
            continue;
        }
        int lng = 0; /* 0: int, 1: long, 2: long long, 3: size_t */
        char pad = ' ';
        unsigned width = 0;
        if (*++p == '0')
            pad = *p++;
        for (; *p >= '0' && *p <= '9'; p++)
            width = width < 64 ? width * 10 + (unsigned)(*p - '0') : width;
        for (;; p++) {
            if (*p == 'l')
                lng = lng ? 2 : 1;
            else if (*p == 'z')
                lng = 3;
            else
                break;
        }
        switch (*p) {
        case 'd':
        case 'i': {
            int64_t v = lng == 0 ? va_arg(ap, int)
                        : lng == 1 ? va_arg(ap, long)
                        : lng == 2 ? va_arg(ap, long long)
                                   : (int64_t)va_arg(ap, size_t);
            put_num(&o, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, 10, v < 0, width, pad);
            break;
        }
        case 'u':
        case 'x': {
            uint64_t v = lng == 0 ? va_arg(ap, unsigned)
                         : lng == 1 ? va_arg(ap, unsigned long)
                         : lng == 2 ? va_arg(ap, unsigned long long)
                                    : va_arg(ap, size_t);
            put_num(&o, v, *p == 'x' ? 16 : 10, 0, width, pad);
            break;
        }
        case 'p':
            put(&o, '0');
            put(&o, 'x');
            put_num(&o, (uint64_t)(uintptr_t)va_arg(ap, void *), 16, 0, 0, ' ');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++)
                put(&o, *s);
            break;
        }
        case 'c':
            put(&o, (char)va_arg(ap, int));
            break;
        case '%':
            put(&o, '%');
            break;
        default: /* unknown conversion (or fmt ends in '%'): stop here */
            goto done;
        }
    }
done:
    if (cap)
        buf[o.len] = '\0';
    return o.len;
}

size_t nub_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t n = nub_vfmt(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

void nub_logf(const char *fmt, ...)
{
    if (!log_ring)
        return;
    char line[NUB_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    size_t n = nub_vfmt(line, sizeof line, fmt, ap); /* room for the \n: the NUL */
    va_end(ap);
    line[n++] = '\n';
    uint64_t head = log_ring->head;
    for (size_t i = 0; i < n; i++)
        log_ring->data[(head + i) % NUB_LOG_RING_SIZE] = line[i];
    log_ring->head = head + n; /* publish after the bytes */
    nub_arch_log_notify();
}

_Noreturn void nub_panic(const char *fmt, ...)
{
    if (log_mailbox) {
        va_list ap;
        va_start(ap, fmt);
        nub_vfmt(log_mailbox->msg, sizeof log_mailbox->msg, fmt, ap);
        va_end(ap);
    }
    nub_arch_abort();
}
