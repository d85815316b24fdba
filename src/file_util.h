/* Reading a whole regular file with a size bound: kernel images, key
 * files, package files and spec blobs all come through here. */
#ifndef NUB_FILE_UTIL_H
#define NUB_FILE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads the regular file at path (at most max bytes) into a malloc'd
 * buffer with one byte more than the file, set to NUL, so text can be
 * parsed in place. *mode (unless NULL) gets the file's st_mode. 0, or
 * -errno with *out NULL and err set to "PATH: reason":
 *   -errno   open, fstat or read failed
 *   -EINVAL  not a regular file
 *   -EFBIG   larger than max bytes
 *   -ENOMEM  no memory for the buffer
 *   -EAGAIN  the file changed size while it was read.
 * On failure any bytes read are wiped before the buffer is freed (key
 * files come through here). */
int nub_read_file(const char *path, uint64_t max, uint8_t **out, size_t *len, mode_t *mode,
                  char *err, size_t errlen);

#endif /* NUB_FILE_UTIL_H */
