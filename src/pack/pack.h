/* nubfs-pack internals shared by the subcommand files: messages, exit
 * codes, file helpers and the subcommand entry points. */
#ifndef NUB_PACK_H
#define NUB_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACK_EXIT_OK 0
#define PACK_EXIT_FAIL 1  /* the operation failed (bad input, bad package, I/O) */
#define PACK_EXIT_USAGE 2 /* bad command line */

#define PACK_PROG "nubfs-pack"

/* "nubfs-pack: ..." on stderr. */
void pack_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* pack_err + "Try 'nubfs-pack --help'." and returns PACK_EXIT_USAGE. */
int pack_usage_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Writes buf to path atomically: temp file in the same directory, fsync,
 * rename, fsync of the directory. Mode 0666 less the umask. */
int pack_write_atomic(const char *path, const void *buf, size_t len, char *err, size_t errlen);

int pack_cmd_keygen(int argc, char **argv);
int pack_cmd_build(int argc, char **argv);
int pack_cmd_inspect(int argc, char **argv);
int pack_cmd_verify(int argc, char **argv);

#endif /* NUB_PACK_H */
