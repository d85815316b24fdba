/* Checks, before anything is booted or forked, that the two devices nubfs
 * needs can be opened, and says how to fix it when they cannot.
 * NUBFS_KVM_DEVICE / NUBFS_FUSE_DEVICE override the paths checked (used
 * by the tests to prove a missing device is reported, not crashed on). */
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *nubfs_kvm_device(void)
{
    const char *p = getenv("NUBFS_KVM_DEVICE");
    return p && *p ? p : "/dev/kvm";
}

static const char *fuse_device(void)
{
    const char *p = getenv("NUBFS_FUSE_DEVICE");
    return p && *p ? p : "/dev/fuse";
}

static int check(const char *path, const char *what, const char *missing_fix,
                 const char *denied_fix, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    int e = errno;
    if (e == ENOENT || e == ENODEV || e == ENXIO)
        snprintf(err, errlen, "%s: %s not available (%s): %s", path, what, strerror(e),
                 missing_fix);
    else if (e == EACCES || e == EPERM)
        snprintf(err, errlen, "%s: permission denied: %s", path, denied_fix);
    else
        snprintf(err, errlen, "%s: cannot open %s: %s", path, what, strerror(e));
    return -e;
}

int nubfs_preflight(char *err, size_t errlen)
{
    int rc = check(nubfs_kvm_device(), "KVM",
                   "load the kvm module (modprobe kvm_intel, kvm_amd or kvm-pvm) or run on a "
                   "host with virtualization enabled",
                   "add your user to the kvm group (usermod -aG kvm $USER) and log in again",
                   err, errlen);
    if (rc != 0)
        return rc;
    return check(fuse_device(), "FUSE", "load the fuse module (modprobe fuse)",
                 "make /dev/fuse usable by you (mode 0666 is the usual setting)", err, errlen);
}
