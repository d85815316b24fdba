/* Accessor for the embedded guest kernel (see guest_image.S). */
#include "guest_image.h"

extern const unsigned char nub_guest_image_start[];
extern const unsigned char nub_guest_image_end[];

void nub_guest_image(const void **data, size_t *size)
{
    *data = nub_guest_image_start;
    *size = (size_t)(nub_guest_image_end - nub_guest_image_start);
}
