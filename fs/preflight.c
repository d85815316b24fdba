/* Checks, before anything is booted or forked, that the two devices nubfs
 * needs can be opened, and says how to fix it when they cannot.
 * NUBFS_KVM_DEVICE / NUBFS_FUSE_DEVICE override the paths checked (used
 * by the tests to prove a missing device is reported, not crashed on). */
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

/* denied_fix is a function so that its cost (the kvm group lookup loads
 * NSS modules: milliseconds) is paid only when the open was refused, not at
 * every start. */
static int check(const char *path, const char *what, const char *missing_fix,
                 const char *(*denied_fix)(void), char *err, size_t errlen)
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
        snprintf(err, errlen, "%s: permission denied: %s", path, denied_fix());
    else
        snprintf(err, errlen, "%s: cannot open %s: %s", path, what, strerror(e));
    return -e;
}

const char *nubfs_kvm_denied_fix(bool kvm_group_exists)
{
    if (kvm_group_exists)
        return "add your user to the kvm group (usermod -aG kvm $USER) and log in again";
    /* Distributions without systemd's udev rules have no kvm group. */
    return "this system has no kvm group: create it and give it the device "
           "(groupadd -r kvm; chgrp kvm /dev/kvm; chmod 0660 /dev/kvm, or a udev rule "
           "KERNEL==\"kvm\", GROUP=\"kvm\", MODE=\"0660\" to keep it), then "
           "usermod -aG kvm $USER and log in again";
}

static const char *kvm_denied_fix(void)
{
    return nubfs_kvm_denied_fix(getgrnam("kvm") != NULL);
}

static const char *fuse_denied_fix(void)
{
    return "make /dev/fuse usable by you (mode 0666 is the usual setting)";
}

int nubfs_preflight(char *err, size_t errlen)
{
    int rc = check(nubfs_kvm_device(), "KVM",
                   "load the kvm module (modprobe kvm_intel, kvm_amd or kvm-pvm) or run on a "
                   "host with virtualization enabled",
                   kvm_denied_fix, err, errlen);
    if (rc != 0)
        return rc;
    return check(fuse_device(), "FUSE", "load the fuse module (modprobe fuse)",
                 fuse_denied_fix, err, errlen);
}
