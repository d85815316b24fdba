/* The daemon's recent-events ring behind the `log` file: boot, guest log
 * lines, poisoning, reboots, preload results. In the foreground (-f, -d)
 * every line is also copied to stderr. As a daemon, lines go to syslog, and
 * warnings also reach the terminal until the daemon detaches, so a
 * successful start is as quiet as mount(8) and a doubtful one says why.
 * Levels: info for what went as asked, notice for a refusal (a package,
 * a file name), warning for what the daemon itself could not do. */
#include "nubfs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "hex.h"

#define LOG_LINES 512
#define LOG_MSG_MAX 400
#define LOG_LINE_MAX (LOG_MSG_MAX + 64) /* + timestamp */

static struct {
    pthread_mutex_t mu;
    char lines[LOG_LINES][LOG_LINE_MAX];
    uint64_t next; /* running count of lines ever logged */
    bool foreground;
    bool detached;
} g_log = {.mu = PTHREAD_MUTEX_INITIALIZER};

void nubfs_log_init(bool foreground)
{
    g_log.foreground = foreground;
    if (!foreground)
        openlog("nubfs", LOG_PID, LOG_DAEMON);
}

void nubfs_log_detached(void)
{
    pthread_mutex_lock(&g_log.mu);
    g_log.detached = true;
    pthread_mutex_unlock(&g_log.mu);
}

/* Adds a timestamped line to the recent-events ring (the `log` file) and
 * copies it to stderr and/or syslog (see the top of the file). */
static void append(int prio, const char *msg)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[24];
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);

    pthread_mutex_lock(&g_log.mu);
    char *line = g_log.lines[g_log.next % LOG_LINES];
    snprintf(line, LOG_LINE_MAX, "%s.%03ldZ %s", stamp, ts.tv_nsec / 1000000, msg);
    g_log.next++;
    bool fg = g_log.foreground;
    bool tty = fg || (prio <= LOG_WARNING && !g_log.detached);
    pthread_mutex_unlock(&g_log.mu);
    if (tty)
        fprintf(stderr, "nubfs: %s\n", msg);
    if (!fg)
        syslog(prio, "%s", msg);
}

size_t nubfs_log_sanitize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (outlen == 0)
        return 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool ctl = *p < 0x20 || *p == 0x7f;
        size_t need = !ctl ? 1 : (*p == '\n' || *p == '\r' || *p == '\t') ? 2 : 4;
        if (o + need >= outlen)
            break;
        if (!ctl) {
            out[o++] = (char)*p;
        } else if (need == 2) {
            out[o++] = '\\';
            out[o++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            nub_hex_encode(out + o, 3, p, 1);
            o += 2;
        }
    }
    out[o] = '\0';
    return o;
}

/* Formats, then makes the text one line once, for every sink alike (the
 * ring, stderr, syslog): a file name or a guest line could hold a
 * newline that would forge a line of its own. */
static void vlog(int prio, const char *fmt, va_list ap)
{
    char raw[LOG_MSG_MAX], msg[LOG_MSG_MAX];
    vsnprintf(raw, sizeof(raw), fmt, ap);
    nubfs_log_sanitize(raw, msg, sizeof(msg));
    append(prio, msg);
}

void nubfs_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_INFO, fmt, ap);
    va_end(ap);
}

void nubfs_notice(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_NOTICE, fmt, ap);
    va_end(ap);
}

void nubfs_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_WARNING, fmt, ap);
    va_end(ap);
}

void nubfs_log_sandbox(void *ctx, const char *line)
{
    (void)ctx;
    nubfs_log("%s", line); /* already prefixed "guest: " or "sandbox: " */
}

char *nubfs_log_render(size_t *len)
{
    pthread_mutex_lock(&g_log.mu);
    uint64_t n = g_log.next < LOG_LINES ? g_log.next : LOG_LINES;
    char *buf = malloc(n * (LOG_LINE_MAX + 1) + 1);
    size_t at = 0;
    if (buf != NULL) {
        for (uint64_t i = g_log.next - n; i < g_log.next; i++) {
            const char *l = g_log.lines[i % LOG_LINES];
            size_t k = strnlen(l, LOG_LINE_MAX - 1);
            memcpy(buf + at, l, k);
            at += k;
            buf[at++] = '\n';
        }
        buf[at] = '\0';
    }
    pthread_mutex_unlock(&g_log.mu);
    *len = at;
    return buf;
}
