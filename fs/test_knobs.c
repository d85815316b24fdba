/* Every test knob of the daemon (hidden, need -o test_ops; nubfs(8)
 * "Testing only"), and the one validator of their values, used by the
 * option parser and by the ctl/ extended attributes alike:
 *   test_crash_after=N   the guest triple-faults after the Nth preloaded
 *                        file (the recovery path runs for real)
 *   test_fail_step=N     every mount fails after guest step N (2..7, 0 =
 *                        off); also the xattr user.nubfs.test_fail_step
 *   test_crash_mount     the next mount crashes the guest between the copy
 *                        and MOUNT; also user.nubfs.test_crash_mount
 *   test_forge_cap=HEX   at boot, junk bytes published under a cap hash
 *                        that is not theirs
 *   user.nubfs.test_exit_mount=N, user.nubfs.test_exit_unmount=N (xattrs
 *                        only): the daemon _exit()s right after step N of
 *                        the next mounts / removals (ctl.h NUBFS_EXIT_*),
 *                        so a test can restart on the state directory at
 *                        every step (the crash matrix, state_crash.sh)
 *   user.nubfs.test_crash_run=N (xattr only): the next N RUN slices of the
 *                        scheduler crash the guest inside the slice (abi.h
 *                        NUB_RUN_F_TEST_CRASH): recovered, tasks start
 *                        over; three in a row park the scheduler
 *   user.nubfs.test_write_cap=HEX (xattr only): the guest stores into that
 *                        cap's bytes (a read-only slot): the sandbox is
 *                        poisoned and recovered like any crash; the
 *                        setxattr returns 0 once it is
 *
 * test_forge_cap uses the client's PUT under a claimed hash: the guest
 * trusts the host's hash, which leaves exactly the state an XXH3-128
 * collision would. A package with a segment of that hash must then be
 * refused with EEXIST (nubfs(8) ERRORS), which ctl_errors.sh checks through
 * cp and rsync. After a guest reboot the forged blob is deliberately
 * published again (nubfs_republish, like the preloaded files): the kernel
 * caches caps/ entries and pages for a day because a cap never changes,
 * so for the daemon's lifetime the hash must keep naming the same bytes;
 * dropping it would let a later mount publish other bytes under a name
 * the kernel still holds stale attributes and pages for. */
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "guest_calls.h"

int nubfs_knob_check(const char *knob, unsigned long v, char *err, size_t errlen)
{
    if (strcmp(knob, "test_fail_step") == 0) {
        if (v == 0 || (v >= NUB_MOUNT_STEP_PARSE && v <= NUB_MOUNT_STEP_TASKS))
            return 0;
        snprintf(err, errlen, "test_fail_step=%lu: want %u..%u (0: off)", v, NUB_MOUNT_STEP_PARSE,
                 NUB_MOUNT_STEP_TASKS);
        return -EINVAL;
    }
    if (strcmp(knob, "test_crash_mount") == 0 || strcmp(knob, "test_crash_after") == 0)
        return 0; /* a flag (any nonzero value sets it), a count */
    if (strcmp(knob, "test_crash_run") == 0) {
        if (v <= 100)
            return 0;
        snprintf(err, errlen, "test_crash_run=%lu: want 0..100", v);
        return -EINVAL;
    }
    if (strcmp(knob, "test_exit_mount") == 0 || strcmp(knob, "test_exit_unmount") == 0) {
        unsigned max = knob[10] == 'm' ? NUBFS_EXIT_MOUNT_MAX : NUBFS_EXIT_UNMOUNT_MAX;
        if (v <= max)
            return 0;
        snprintf(err, errlen, "%s=%lu: want 1..%u (0: off)", knob, v, max);
        return -EINVAL;
    }
    snprintf(err, errlen, "%s: not a test knob", knob);
    return -EINVAL;
}

int nubfs_knobs_check_opts(const struct nubfs_opts *o, char *err, size_t errlen)
{
    if ((o->test_fail_step || o->test_crash_mount || o->test_forge_cap) && !o->test_ops) {
        snprintf(err, errlen, "test_fail_step, test_crash_mount and test_forge_cap need test_ops");
        return -EINVAL;
    }
    /* Parsed again at boot; checked here for a usage error. */
    uint8_t forged[16];
    if (o->test_forge_cap != NULL && nub_hash_from_hex(o->test_forge_cap, forged) != 0) {
        snprintf(err, errlen, "test_forge_cap=%s: want 32 lowercase hex digits", o->test_forge_cap);
        return -EINVAL;
    }
    return nubfs_knob_check("test_fail_step", o->test_fail_step, err, errlen);
}

void nubfs_knobs_init(struct nubfs *fs)
{
    fs->test_fail_step = fs->opts.test_fail_step;
    fs->test_crash_mount = fs->opts.test_crash_mount;
}

/* user.nubfs.test_write_cap=HEX: a guest write to a cap must exit. */
static int write_cap(struct nubfs *fs, const char *value, size_t size)
{
    char hex[33];
    uint8_t hash[16];
    if (size > 0 && value[size - 1] == '\n')
        size--;
    if (size != 32)
        return -EINVAL;
    memcpy(hex, value, 32);
    hex[32] = '\0';
    if (nub_hash_from_hex(hex, hash) != 0)
        return -EINVAL;
    struct nub_cap_obj *obj = nub_cap_store_get(fs->store, hash);
    if (obj == NULL || obj->len == 0) {
        nub_cap_obj_unref(obj);
        return -ENOENT;
    }
    pthread_mutex_lock(&fs->change_mu);
    int rc = nub_call_test_write_cap(fs->sb, obj->gpa);
    nubfs_log("test knob test_write_cap: guest store to cap %s at 0x%llx: %s", hex,
              (unsigned long long)obj->gpa, rc == -EIO ? "trapped" : strerror(-rc));
    if (rc == -EIO)
        rc = nubfs_recover_locked(fs);
    else if (rc == 0)
        rc = -EIO; /* the store went through: caps are not immutable */
    pthread_mutex_unlock(&fs->change_mu);
    nub_cap_obj_unref(obj);
    return rc;
}

int nubfs_knob_setxattr(struct nubfs *fs, const char *name, const char *value, size_t size)
{
    if (!fs->opts.test_ops)
        return -ENOTSUP;
    static const char prefix[] = "user.nubfs.";
    if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
        return -EINVAL;
    const char *knob = name + sizeof(prefix) - 1;
    if (strcmp(knob, "test_write_cap") == 0)
        return write_cap(fs, value, size);
    char v[32];
    if (size >= sizeof(v))
        return -EINVAL;
    memcpy(v, value, size);
    v[size] = '\0';
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (end == v || (*end != '\0' && *end != '\n'))
        return -EINVAL;
    char err[128];
    if (strcmp(knob, "test_crash_after") == 0 || nubfs_knob_check(knob, n, err, sizeof(err)) != 0)
        return -EINVAL; /* test_crash_after counts boot preloads: no run-time form */
    pthread_mutex_lock(&fs->change_mu);
    if (strcmp(knob, "test_fail_step") == 0)
        fs->test_fail_step = (unsigned)n;
    else if (strcmp(knob, "test_exit_mount") == 0)
        fs->test_exit_mount = (unsigned)n;
    else if (strcmp(knob, "test_exit_unmount") == 0)
        fs->test_exit_unmount = (unsigned)n;
    else if (strcmp(knob, "test_crash_run") == 0)
        __atomic_store_n(&fs->test_crash_run, (unsigned)n, __ATOMIC_RELAXED);
    else
        fs->test_crash_mount = n != 0;
    pthread_mutex_unlock(&fs->change_mu);
    nubfs_log("test knob %s = %lu", name, n);
    if (strcmp(knob, "test_crash_run") == 0)
        nubfs_sched_kick(fs); /* a parked scheduler takes it too */
    return 0;
}

bool nubfs_knob_crash_run(struct nubfs *fs)
{
    if (!fs->opts.test_ops)
        return false;
    unsigned n = __atomic_load_n(&fs->test_crash_run, __ATOMIC_RELAXED);
    while (n > 0 && !__atomic_compare_exchange_n(&fs->test_crash_run, &n, n - 1, false,
                                                 __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return n > 0;
}

/* test_crash_mount: the guest triple-faults between the copy and MOUNT,
 * so the mount fails with EIO as a guest crash would make it. */
static void crash_hook(void *ctx, struct nub_sandbox *sb, nub_gpa gpa)
{
    (void)ctx;
    (void)gpa;
    nub_call_test_op_locked(sb, NUB_OP_TEST_TRIPLE_FAULT);
}

void nubfs_knobs_mount_opts(struct nubfs *fs, struct nub_intake_opts *o)
{
    if (!fs->opts.test_ops)
        return;
    o->fail_step = fs->test_fail_step;
    if (fs->test_crash_mount) {
        fs->test_crash_mount = 0; /* one shot */
        o->test_before_mount = crash_hook;
    }
}

bool nubfs_knobs_preloaded(struct nubfs *fs, size_t n)
{
    if (!fs->opts.test_ops || fs->opts.test_crash_after != n)
        return false;
    int rc = nub_call_test_op(fs->sb, NUB_OP_TEST_TRIPLE_FAULT);
    nubfs_warn("test_crash_after=%u: crash call returned %s", fs->opts.test_crash_after,
               rc == 0 ? "normally" : strerror(-rc));
    return true;
}

static const char forged_bytes[] = "forged cap\n";

int nubfs_test_forge_cap(struct nubfs *fs)
{
    const size_t len = sizeof(forged_bytes) - 1;
    const char *hex = fs->opts.test_forge_cap;
    uint8_t hash[16];
    char msg[NUB_MAILBOX_MSG] = "";
    if (nub_hash_from_hex(hex, hash) != 0)
        return -EINVAL; /* nubfs_knobs_check_opts checked the syntax */
    /* In the store too, held for good (a reboot re-publishes it). */
    int rc = 0;
    if (fs->forged_obj == NULL)
        rc = nub_cap_store_put_forged(fs->store, hash, forged_bytes, len, NUB_CAP_BLOB,
                                      &fs->forged_obj);
    if (rc != 0) {
        nubfs_warn("test_forge_cap=%s: %s", hex,
                   rc == -EEXIST ? "the cap already exists" : strerror(-rc));
        return rc;
    }
    bool existed = false;
    rc = nub_call_put_claimed(fs->sb, hash, forged_bytes, len, NUB_CAP_BLOB, &existed, msg);
    if (rc == 0 && existed)
        rc = -EEXIST; /* the hash was there already: nothing forged */
    if (rc != 0) {
        nubfs_warn("test_forge_cap=%s: %s%s%s", hex,
                   rc == -EEXIST ? "the cap already exists" : strerror(-rc), msg[0] ? ": " : "",
                   msg);
        return rc;
    }
    nubfs_warn("test_forge_cap: %spublished %zu junk bytes under cap %s (a forged hash, "
               "test only)",
               fs->test_forged ? "re-" : "", len, hex);
    fs->test_forged = true;
    return 0;
}

void nubfs_knob_exit(struct nubfs *fs, bool mount, unsigned step)
{
    if (!fs->opts.test_ops || step != (mount ? fs->test_exit_mount : fs->test_exit_unmount))
        return;
    nubfs_log("test knob test_exit_%s=%u: exiting now", mount ? "mount" : "unmount", step);
    /* Stopped dead, as kill -9 would: no atexit, no unmount, no flush. */
    _exit(99);
}
