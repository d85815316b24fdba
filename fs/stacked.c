/* Is a nubfs already mounted on this directory? A second daemon on the
 * same mountpoint would silently hide the first (its ctl/, its mounts),
 * so nubfs refuses unless -o nonempty says it is meant (nubfs(8)). The
 * answer comes from /proc/self/mountinfo: the mount point (field 5,
 * octal-escaped) and the file system type after the " - " separator. */
#include "nubfs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undoes mountinfo's \ooo escapes (space, tab, newline, backslash). */
static void unescape(char *s)
{
    char *o = s;
    for (const char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

bool nubfs_mounted_here(const char *mountinfo, const char *dir)
{
    FILE *f = fopen(mountinfo, "re");
    if (f == NULL)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (!found && getline(&line, &cap, f) > 0) {
        char *save = NULL, *mp = NULL;
        int i = 0;
        for (char *t = strtok_r(line, " \n", &save); t != NULL;
             t = strtok_r(NULL, " \n", &save), i++) {
            if (i == 4)
                mp = t;
            if (strcmp(t, "-") == 0) {
                char *type = strtok_r(NULL, " \n", &save);
                if (mp != NULL && type != NULL && strcmp(type, "fuse.nubfs") == 0) {
                    unescape(mp);
                    found = strcmp(mp, dir) == 0;
                }
                break;
            }
        }
    }
    free(line);
    fclose(f);
    return found;
}
