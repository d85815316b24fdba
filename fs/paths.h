/* Paths the daemon derives itself (paths.c). */
#ifndef NUBFS_PATHS_H
#define NUBFS_PATHS_H

#include <stdbool.h>
#include <sys/types.h>

/* "~", "~/x", "~user", "~user/x" with the home directory put in (other
 * paths copied as they are) into a malloc'd *out. 0, -ENOENT if there is
 * no such user or no home directory, -ENOMEM. */
int nubfs_expand_home(const char *in, char **out);

/* An absolute path escaped as `systemd-escape --path` does it (malloc'd;
 * NULL without memory): "/srv/nub" -> "srv-nub". */
char *nubfs_escape_path(const char *path);

/* The default state directory of an absolute mountpoint:
 * /var/lib/nubfs/<escaped> for root, else $XDG_STATE_HOME/nubfs/<escaped>
 * ($HOME/.local/state when it is unset or relative). 0, -ENOENT (no home
 * directory), -ENOMEM. */
int nubfs_default_state_dir(const char *mountpoint, uid_t uid, char **out);

#endif
