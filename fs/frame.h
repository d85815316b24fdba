/* A package frame (frame.c): what a state directory keeps of a mounted
 * package besides its caps, to give ctl/<name>.rvf back byte for byte
 * (DESIGN §10): its bytes as pieces, each either literal (the container's
 * headers, padding, the signature segment) or a cap named by its hash
 * (the payloads, kept once, in caps/), plus the ctl/ entry's mode, owner
 * and times. Frames on disk are untrusted: decoding checks everything. */
#ifndef NUBFS_FRAME_H
#define NUBFS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The encoding (little endian; nubfs(8) STATE DIRECTORY):
 *   0   "NUBFRAME"
 *   8   u32 version (1), u32 npieces, u64 package length
 *   24  u32 mode, uid, gid, 0
 *   40  atime, mtime, ctime: each i64 seconds, u32 nanoseconds, u32 0
 *   88  npieces x {u64 len, u32 kind (0 literal, 1 cap), u32 cap kind
 *       (abi.h NUB_CAP_*; 0 for a literal), hash[16] (zero for a literal)}
 *   ... the literal pieces' bytes, in order
 *   end XXH3-128 (canonical) of everything before it */
#define NUBFS_FRAME_VERSION 1u
#define NUBFS_FRAME_HDR 88u
#define NUBFS_FRAME_PIECE 32u
#define NUBFS_FRAME_SUM 16u
/* Most pieces a frame may have (a package has at most 2 per segment + 1). */
#define NUBFS_FRAME_MAX_PIECES (1u << 20)

struct nubfs_frame_meta {
    uint32_t mode, uid, gid;
    struct timespec atime, mtime, ctime;
};

/* A cap inside the package: payload bytes [off, off + len) are the cap. */
struct nubfs_frame_cap {
    uint64_t off, len;
    uint32_t kind;
    uint8_t hash[16];
};

struct nubfs_frame_piece {
    uint64_t len;
    bool cap;
    uint32_t kind;       /* cap */
    uint8_t hash[16];    /* cap */
    const uint8_t *bytes; /* literal: into the decoded blob */
};

struct nubfs_frame {
    struct nubfs_frame_meta meta;
    uint64_t pkg_len;
    uint32_t npieces;
    struct nubfs_frame_piece *pieces; /* malloc'd */
};

/* The frame of pkg[0, len) whose caps are caps[0, n) (increasing offsets,
 * not overlapping, inside the package). 0, -EINVAL, -ENOMEM; *out
 * malloc'd. */
int nubfs_frame_encode(const struct nubfs_frame_meta *m, const uint8_t *pkg, uint64_t len,
                       const struct nubfs_frame_cap *caps, uint32_t n, uint8_t **out,
                       size_t *outlen);
/* Checks and decodes blob[0, len) (pieces point into blob). 0, -EBADMSG
 * (not a frame, a bad sum, a length that does not add up), -EFBIG (the
 * package would exceed max_pkg), -EPROTONOSUPPORT (a newer version),
 * -ENOMEM. */
int nubfs_frame_decode(const uint8_t *blob, size_t len, uint64_t max_pkg, struct nubfs_frame *f);
void nubfs_frame_free(struct nubfs_frame *f);
/* New metadata into an encoded frame (and its sum). */
void nubfs_frame_set_meta(uint8_t *blob, size_t len, const struct nubfs_frame_meta *m);

#endif
