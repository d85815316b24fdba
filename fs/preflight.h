/* Pre-flight device checks (see preflight.c). */
#ifndef NUBFS_PREFLIGHT_H
#define NUBFS_PREFLIGHT_H

#include <stddef.h>

const char *nubfs_kvm_device(void);
/* 0, or -errno with a one-line reason and fix in err. */
int nubfs_preflight(char *err, size_t errlen);

#endif
