/* The JSON behind `stats`: directory numbers read from guest memory (no
 * guest call), sandbox counters and boot times, the packages of ctl/ and
 * their counters, the guest heap level (a STATS call after every change,
 * nubfs_heap_refresh), daemon facts. */
#include "ctl.h"

#include <errno.h>
#include <jansson.h>
#include <time.h>

#include "guest_calls.h"
#include "state.h"

static json_t *ms(uint64_t ns)
{
    return json_real((double)ns / 1e6);
}

void nubfs_heap_refresh(struct nubfs *fs)
{
    uint64_t ret[NUB_MAILBOX_ARGS];
    if (nub_sandbox_stats_at_init(fs->sb, ret) == 0 || nub_call_stats(fs->sb, ret) == 0) {
        __atomic_store_n(&fs->heap_used, ret[NUB_STAT_HEAP_USED], __ATOMIC_RELAXED);
        __atomic_store_n(&fs->heap_total, ret[NUB_STAT_HEAP_TOTAL], __ATOMIC_RELAXED);
        __atomic_store_n(&fs->heap_gen, ret[NUB_STAT_GENERATION], __ATOMIC_RELAXED);
    }
}

char *nubfs_stats_render(struct nubfs *fs, size_t *len)
{
    json_t *o = json_object();
    if (o == NULL)
        return NULL;

    struct nub_reader r;
    struct nub_dir_header h;
    int rc = nubfs_reader_begin(fs, &r);
    if (rc == 0)
        rc = nub_reader_header(&r, &h);
    nubfs_reader_end(fs);
    /* The format version: changes when a key changes meaning or goes
     * (every key is documented in nubfs(8), JSON FILES). */
    json_object_set_new(o, "format", json_integer(1));
    if (rc == 0) {
        json_object_set_new(o, "caps", json_integer((json_int_t)h.count));
        json_object_set_new(o, "cap_bytes", json_integer((json_int_t)(h.total_bytes & INT64_MAX)));
        json_object_set_new(o, "generation", json_integer((json_int_t)(h.generation & INT64_MAX)));
        json_object_set_new(o, "directory_capacity", json_integer((json_int_t)h.capacity));
        json_object_set_new(o, "directory", json_string("ok"));
    } else {
        json_object_set_new(o, "caps", json_integer(0));
        json_object_set_new(o, "cap_bytes", json_integer(0));
        json_object_set_new(o, "generation", json_null());
        json_object_set_new(o, "directory",
                            json_string(rc == -ENOENT ? "uninitialised" : "corrupt"));
    }

    struct nub_sandbox_counters c;
    nub_sandbox_counters(fs->sb, &c);
    json_object_set_new(o, "guest_calls", json_integer((json_int_t)c.calls));
    json_object_set_new(o, "exits", json_integer((json_int_t)c.exits));
    /* Instructions KVM emulated for the guest: every one on kvm-pvm, only
     * the few trapped ones on hardware virtualization. */
    json_object_set_new(o, "guest_emulated_instructions",
                        json_integer((json_int_t)c.emulated_insns));
    json_object_set_new(o, "reboots", json_integer((json_int_t)c.reboots));
    json_object_set_new(o, "poisoned", json_integer((json_int_t)c.poisoned));

    const struct nub_boot_times *bt = nub_sandbox_boot_times(fs->sb);
    json_t *boot = json_object();
    json_object_set_new(boot, "vm_create_ms", ms(bt->vm_create_ns));
    json_object_set_new(boot, "ready_ms", ms(bt->ready_ns));
    json_object_set_new(boot, "init_ms", ms(bt->init_ns));
    json_object_set_new(o, "boot", boot);

    size_t mounted = 0, staged = 0;
    nubfs_ctl_lock(fs);
    nubfs_ctl_count(fs, &mounted, &staged);
    nubfs_ctl_unlock(fs);
    json_object_set_new(o, "mounts", json_integer((json_int_t)mounted));
    json_object_set_new(o, "staged_files", json_integer((json_int_t)staged));
    const struct nubfs_mount_counters *mc = &fs->mc;
    json_object_set_new(o, "mounts_total", json_integer((json_int_t)mc->mounts));
    json_object_set_new(o, "mount_failures", json_integer((json_int_t)mc->mount_failures));
    json_object_set_new(o, "unmounts", json_integer((json_int_t)mc->unmounts));
    json_object_set_new(o, "replaces", json_integer((json_int_t)mc->replaces));
    json_object_set_new(o, "remounts", json_integer((json_int_t)mc->remounts));
    json_object_set_new(o, "remount_failures", json_integer((json_int_t)mc->remount_failures));
    json_object_set_new(o, "replayed", json_integer((json_int_t)fs->replayed));
    json_object_set_new(o, "replay_ms", json_real((double)fs->replay_ns / 1e6));
    json_t *kept = nubfs_kept_json(fs);
    json_object_set_new(o, "kept_packages", json_integer((json_int_t)json_array_size(kept)));
    json_object_set_new(o, "kept", kept);
    json_object_set_new(o, "verify_failures",
                        json_integer((json_int_t)__atomic_load_n(&fs->verify_failures,
                                                                 __ATOMIC_RELAXED)));
    json_object_set_new(o, "package_bytes_mounted", json_integer((json_int_t)(mc->bytes_mounted & INT64_MAX)));
    json_object_set_new(o, "last_mount_ms", ms(mc->last_mount_ns));
    json_object_set_new(o, "last_receive_ms", ms(mc->last_receive_ns));
    json_object_set_new(o, "heap_used",
                        json_integer((json_int_t)(__atomic_load_n(&fs->heap_used, __ATOMIC_RELAXED) &
                                                  INT64_MAX)));
    json_object_set_new(o, "heap_total",
                        json_integer((json_int_t)(__atomic_load_n(&fs->heap_total, __ATOMIC_RELAXED) &
                                                  INT64_MAX)));
    json_object_set_new(o, "max_package", json_integer((json_int_t)fs->opts.max_package));
    json_object_set_new(o, "trusted_keys", json_integer((json_int_t)fs->trust.count));
    json_object_set_new(o, "guest_mem",
                        json_integer((json_int_t)(fs->sb_opts.mem_size ? fs->sb_opts.mem_size
                                                                       : NUB_DEFAULT_MEM)));
    json_object_set_new(o, "preloaded_files", json_integer((json_int_t)fs->npreload));
    json_object_set_new(o, "preloaded_bytes", json_integer((json_int_t)fs->preload_bytes));
    json_object_set_new(o, "kernel_inodes", json_integer((json_int_t)nubfs_inodes_count()));
    json_t *req = json_object();
    for (int i = 0; i < NUBFS_REQ_N; i++)
        json_object_set_new(req, nubfs_req_names[i],
                            json_integer((json_int_t)(nubfs_req_count(i) & INT64_MAX)));
    json_object_set_new(o, "fuse_requests", req);
    /* As in mounts/<name>/info: the ISO string, and Unix seconds. */
    char when[NUBFS_UTC_TIME_MAX + 1];
    nubfs_utc_time(fs->mount_time.tv_sec, when);
    strcat(when, "Z");
    json_object_set_new(o, "mounted_at", json_string(when));
    json_object_set_new(o, "mounted_at_unix", json_integer((json_int_t)fs->mount_time.tv_sec));
    json_object_set_new(o, "abi_version", json_integer(NUB_ABI_VERSION));
    json_object_set_new(o, "store", nubfs_store_json(fs));
    json_object_set_new(o, "tasks", nubfs_sched_json(fs));

    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
    json_decref(o);
    return nubfs_text_file(s, len);
}
