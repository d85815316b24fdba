/* Pre-flight device checks (see preflight.c). */
#ifndef NUBFS_PREFLIGHT_H
#define NUBFS_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

const char *nubfs_kvm_device(void);
/* What to do when /dev/kvm is not ours to open: join the kvm group, or
 * first make one where the system has none. */
const char *nubfs_kvm_denied_fix(bool kvm_group_exists);
/* 0, or -errno with a one-line reason and fix in err. */
int nubfs_preflight(char *err, size_t errlen);

#endif
