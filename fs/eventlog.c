/* The daemon's recent-events ring behind the `log` file: boot, guest log
 * lines, poisoning, reboots, preload results. In the foreground (-f, -d)
 * every line is also copied to stderr. As a daemon, lines go to syslog, and
 * warnings also reach the terminal until the daemon detaches, so a
 * successful start is as quiet as mount(8) and a doubtful one says why.
 * The start's own lines reach syslog when the daemon detaches (or exits),
 * not as they happen: syslog(3)'s first call loads the time zone and each
 * one connects, ~0.15 ms of every start before the mount was usable.
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
/* Lines a start may hold back from syslog; more are sent at once. */
#define LOG_HELD_MAX 64
_Static_assert(LOG_HELD_MAX < LOG_LINES, "held lines stay in the ring");
/* The stamp and ".mmmZ " before each message: msg_at fits a byte. */
_Static_assert(NUBFS_UTC_TIME_MAX + 6 < 256, "a stamp's length fits msg_at");

static struct {
    pthread_mutex_t mu;
    char lines[LOG_LINES][LOG_LINE_MAX];
    uint8_t prio[LOG_LINES];   /* syslog level of each line */
    uint8_t msg_at[LOG_LINES]; /* where the message starts, after the stamp */
    uint64_t next;             /* running count of lines ever logged */
    uint64_t unsent;           /* first line syslog has not had (while held) */
    bool foreground;
    bool detached;
    bool held; /* a daemon that has not detached: syslog copies wait */
} g_log = {.mu = PTHREAD_MUTEX_INITIALIZER};

void nubfs_log_init(bool foreground)
{
    g_log.foreground = foreground;
    if (!foreground) {
        openlog("nubfs", LOG_PID, LOG_DAEMON);
        pthread_mutex_lock(&g_log.mu);
        g_log.held = true;
        g_log.unsent = g_log.next;
        pthread_mutex_unlock(&g_log.mu);
    }
}

/* Sends the held lines to syslog, in order; g_log.mu held. */
static void send_held(void)
{
    for (; g_log.unsent < g_log.next; g_log.unsent++) {
        size_t i = g_log.unsent % LOG_LINES;
        syslog(g_log.prio[i], "%s", g_log.lines[i] + g_log.msg_at[i]);
    }
}

void nubfs_log_detached(void)
{
    pthread_mutex_lock(&g_log.mu);
    g_log.detached = true;
    send_held();
    g_log.held = false;
    pthread_mutex_unlock(&g_log.mu);
}

void nubfs_log_close(void)
{
    pthread_mutex_lock(&g_log.mu);
    send_held(); /* a start that failed: its lines still reach syslog */
    g_log.held = false;
    bool fg = g_log.foreground;
    pthread_mutex_unlock(&g_log.mu);
    if (!fg)
        closelog();
}

/* Adds a timestamped line to the recent-events ring (the `log` file) and
 * copies it to stderr and/or syslog (see the top of the file). */
static void append(int prio, const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char stamp[NUBFS_UTC_TIME_MAX];
    nubfs_utc_time(ts.tv_sec, stamp);

    pthread_mutex_lock(&g_log.mu);
    size_t i = g_log.next % LOG_LINES;
    int at = snprintf(g_log.lines[i], LOG_LINE_MAX, "%s.%03ldZ ", stamp, ts.tv_nsec / 1000000);
    if (at < 0 || at >= LOG_LINE_MAX)
        at = 0;
    snprintf(g_log.lines[i] + at, LOG_LINE_MAX - (size_t)at, "%s", msg);
    g_log.prio[i] = (uint8_t)prio;
    g_log.msg_at[i] = (uint8_t)at;
    g_log.next++;
    bool fg = g_log.foreground;
    bool tty = fg || (prio <= LOG_WARNING && !g_log.detached);
    bool now = !fg && !g_log.held;
    if (g_log.held && g_log.next - g_log.unsent >= LOG_HELD_MAX)
        send_held();
    pthread_mutex_unlock(&g_log.mu);
    if (tty)
        fprintf(stderr, "nubfs: %s\n", msg);
    if (now)
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
