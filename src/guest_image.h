/* The guest kernel ELF embedded into the host binary at build time (the
 * "embedded default"; -o kernel=PATH boots another one). */
#ifndef NUB_GUEST_IMAGE_H
#define NUB_GUEST_IMAGE_H

#include <stddef.h>

/* The embedded ELF bytes. *size is 0 if the build had no guest kernel. */
void nub_guest_image(const void **data, size_t *size);

#endif /* NUB_GUEST_IMAGE_H */
