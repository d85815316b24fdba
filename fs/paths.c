/* Paths the daemon derives itself: `~` and `~user` at the head of a path
 * option (sh, fstab and systemd pass them literally, so nubfs expands
 * them), a mountpoint escaped as systemd-escape --path does (the state
 * directory's name and the instance of nubfs@.service), and the default
 * state directory of a mountpoint (DESIGN.md §10, nubfs(8) STATE). */
#include "paths.h"

#include "hex.h"

#include <errno.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The home directory of user (NULL: the caller): $HOME for the caller if
 * it is absolute, else the password database. NULL if there is none. */
static const char *home_of(const char *user, size_t ulen)
{
    if (user == NULL) {
        const char *h = getenv("HOME");
        if (h != NULL && h[0] == '/')
            return h;
        struct passwd *pw = getpwuid(getuid());
        return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
    }
    char name[256];
    if (ulen == 0 || ulen >= sizeof(name))
        return NULL;
    memcpy(name, user, ulen);
    name[ulen] = '\0';
    struct passwd *pw = getpwnam(name);
    return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

int nubfs_expand_home(const char *in, char **out)
{
    *out = NULL;
    if (in[0] != '~') {
        *out = strdup(in);
        return *out ? 0 : -ENOMEM;
    }
    const char *rest = strchr(in, '/');
    size_t ulen = rest ? (size_t)(rest - in - 1) : strlen(in + 1);
    if (rest == NULL)
        rest = "";
    const char *home = home_of(ulen ? in + 1 : NULL, ulen);
    if (home == NULL)
        return -ENOENT;
    /* "~/x" with HOME=/ is "/x", not "//x". */
    size_t hl = strlen(home);
    while (hl > 1 && home[hl - 1] == '/')
        hl--;
    if (hl == 1 && rest[0] == '/')
        hl = 0;
    size_t n = hl + strlen(rest) + 1;
    char *p = malloc(n);
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, home, hl);
    strcpy(p + hl, rest);
    *out = p;
    return 0;
}

/* systemd-escape --path: slashes at the ends and repeated ones dropped,
 * "/" itself is "-", the rest "/" -> "-"; bytes outside [A-Za-z0-9:_.]
 * (and a leading ".") as \xNN. */
char *nubfs_escape_path(const char *path)
{
    size_t n = strlen(path);
    /* Worst case every byte becomes \xNN. */
    if (n > (SIZE_MAX - 2) / 4)
        return NULL;
    char *o = malloc(4 * n + 2);
    if (o == NULL)
        return NULL;
    size_t k = 0;
    const char *p = path;
    while (*p == '/')
        p++;
    if (*p == '\0') {
        strcpy(o, "-");
        return o;
    }
    bool first = true;
    while (*p != '\0') {
        unsigned char c = (unsigned char)*p;
        if (c == '/') {
            while (*p == '/')
                p++;
            if (*p != '\0')
                o[k++] = '-';
            continue;
        }
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == ':' || c == '_' || (c == '.' && !first);
        if (plain)
            o[k++] = (char)c;
        else {
            o[k++] = '\\';
            o[k++] = 'x';
            nub_hex_encode(o + k, 3, &c, 1);
            k += 2;
        }
        first = false;
        p++;
    }
    o[k] = '\0';
    return o;
}

int nubfs_default_state_dir(const char *mountpoint, uid_t uid, char **out)
{
    *out = NULL;
    char *esc = nubfs_escape_path(mountpoint);
    if (esc == NULL)
        return -ENOMEM;
    char *base = NULL;
    int rc = 0;
    if (uid == 0) {
        base = strdup("/var/lib/nubfs");
    } else {
        /* XDG: a relative $XDG_STATE_HOME is to be ignored. */
        const char *x = getenv("XDG_STATE_HOME");
        if (x != NULL && x[0] == '/') {
            if (asprintf(&base, "%s/nubfs", x) < 0)
                base = NULL;
        } else {
            const char *h = home_of(NULL, 0);
            if (h == NULL)
                rc = -ENOENT;
            else if (asprintf(&base, "%s/.local/state/nubfs", strcmp(h, "/") ? h : "") < 0)
                base = NULL;
        }
    }
    if (rc == 0 && base == NULL)
        rc = -ENOMEM;
    if (rc == 0 && asprintf(out, "%s/%s", base, esc) < 0) {
        *out = NULL;
        rc = -ENOMEM;
    }
    free(base);
    free(esc);
    return rc;
}
