/* RVF package format v1: the one container parser, manifest codec and
 * WASM structure validator, shared by the guest kernel, nubfs, nubfs-pack,
 * the unit tests and the fuzz targets. The byte-level spec is
 * man/nubfs-rvf.5; keep both true.
 *
 * Plain C, freestanding-compatible: only <stdint.h>, <stddef.h>,
 * <stdbool.h> and memcpy/memset/memcmp. No allocation: parsers fill
 * caller storage or return views into the input. No hashing either:
 * the guest must do work proportional to metadata only, so checking a
 * payload against its content hash is the host's job (rvf_check_hashes,
 * host library only).
 *
 * Every input byte is untrusted. Every function here is safe on any
 * input of any length: it returns a status and never reads outside
 * [buf, buf + len).
 */
#ifndef NUB_RVF_H
#define NUB_RVF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Status ------------------------------------------------------------ */

enum rvf_status {
    RVF_OK = 0,
    RVF_E_INVAL,         /* bad argument from the caller (not the input) */
    RVF_E_TRUNCATED,     /* input ends inside a header, payload or padding */
    RVF_E_MAGIC,         /* segment / manifest / wasm magic wrong */
    RVF_E_VERSION,       /* unknown segment, manifest or wasm version */
    RVF_E_SEGTYPE,       /* segment type not used by RVF v1 packages */
    RVF_E_FLAGS,         /* segment flags nonzero */
    RVF_E_RESERVED,      /* a reserved field or byte is nonzero */
    RVF_E_CHECKSUM_ALGO, /* checksum_algo != 1 (XXH3-128) */
    RVF_E_COMPRESSION,   /* compression != 0 or uncompressed_len != 0 */
    RVF_E_SEGID,         /* segment_id != index of the segment */
    RVF_E_PADDING,       /* padding after a payload is not zero */
    RVF_E_ORDER,         /* manifest not the first segment */
    RVF_E_DUP_MANIFEST,  /* more than one manifest segment */
    RVF_E_NO_MANIFEST,   /* no manifest segment */
    RVF_E_NO_SIGNATURE,  /* unsigned package and a signature is required */
    RVF_E_SIG_PLACEMENT, /* crypto segment not last, or more than one */
    RVF_E_SIG_FORMAT,    /* crypto payload has a bad length or algorithm */
    RVF_E_HASH,          /* a payload does not match its content hash */
    RVF_E_LIMIT,         /* a count or size over the configured limit */
    RVF_E_TOO_BIG,       /* package larger than limits.max_package */
    RVF_E_MANIFEST,      /* manifest structure wrong (sizes, offsets, enums) */
    RVF_E_STRING,        /* manifest string unterminated, too long, bad chars */
    RVF_E_INDEX,         /* an index (component, region, queue, list) out of range */
    RVF_E_DUPLICATE,     /* two components/regions/entries with one name */
    RVF_E_REF,           /* a hash or entry point the manifest lists names nothing of the right kind */
    RVF_E_RIGHTS,        /* a grant exceeds the manifest's access sets */
    RVF_E_WASM,          /* WASM module structure wrong */
    RVF_E_NOSPACE,       /* encoder: caller's output buffer too small */
    RVF_E__COUNT
};

/* Short constant text for a status ("truncated", "bad magic", ...). */
const char *rvf_strerror(enum rvf_status st);

/* What went wrong and where. msg names the segment index, file offset and
 * field, e.g. "segment 2 @0x80: payload_length runs past end of file". */
#define RVF_MSG_MAX 160
struct rvf_result {
    enum rvf_status status;
    int32_t segment;   /* segment index, -1 when not about one segment */
    uint64_t offset;   /* byte offset of the bad field (file, manifest or module) */
    char msg[RVF_MSG_MAX]; /* NUL-terminated */
};

/* ---- Limits ------------------------------------------------------------ */

struct rvf_limits {
    uint64_t max_package;        /* bytes; default 256 MiB (RVF_E_TOO_BIG) */
    uint32_t max_segments;       /* default 1024 */
    uint32_t max_components;     /* default 256 */
    uint32_t max_regions;        /* default 256 */
    uint32_t max_queues;         /* default 1024 */
    uint32_t max_tasks;          /* entry points summed over components; default 64 */
    uint32_t max_grants;         /* default 4096 */
    uint64_t max_region_size;    /* bytes of one region; default 64 MiB */
    uint32_t max_queue_capacity; /* slots; default 65536 */
    uint32_t max_message;        /* bytes of one queue message; default 64 KiB */
    uint64_t max_queue_bytes;    /* capacity * max_message; default 16 MiB */
    uint32_t max_wasm_sections;  /* sections walked in one module; default 1024 */
    uint32_t max_wasm_exports;   /* exports walked in one module; default 4096 */
    bool require_signature;      /* unsigned package -> RVF_E_NO_SIGNATURE; default false */
};

void rvf_limits_default(struct rvf_limits *lim);

/* ---- Container (segments) ---------------------------------------------- */

#define RVF_SEG_MAGIC 0x52564653u /* "RVFS"; bytes 53 46 56 52 on disk */
#define RVF_SEG_VERSION 1u
#define RVF_SEG_HEADER_SIZE 64u
#define RVF_SEG_ALIGN 64u
#define RVF_CHECKSUM_XXH3_128 1u
#define RVF_COMPRESSION_NONE 0u

/* Segment types: values of rvf-types' SegmentType where one fits. */
#define RVF_SEG_MANIFEST 0x05u /* the package manifest; exactly one, first */
#define RVF_SEG_CRYPTO 0x0Cu   /* signature; at most one, last */
#define RVF_SEG_WASM 0x10u     /* a raw .wasm module */
#define RVF_SEG_DATA 0x40u     /* an opaque blob (nubfs-specific; unassigned in rvf-types) */

/* Byte offsets inside the 64-byte segment header (rvf-types SegmentHeader). */
#define RVF_SH_MAGIC 0          /* u32 */
#define RVF_SH_VERSION 4        /* u8 */
#define RVF_SH_TYPE 5           /* u8 */
#define RVF_SH_FLAGS 6          /* u16, must be 0 */
#define RVF_SH_SEGMENT_ID 8     /* u64, must equal the segment's index */
#define RVF_SH_PAYLOAD_LEN 16   /* u64 */
#define RVF_SH_TIMESTAMP 24     /* u64 ns since the epoch, informational */
#define RVF_SH_CHECKSUM_ALGO 32 /* u8, 1 */
#define RVF_SH_COMPRESSION 33   /* u8, 0 */
#define RVF_SH_RESERVED0 34     /* u16, 0 */
#define RVF_SH_RESERVED1 36     /* u32, 0 */
#define RVF_SH_CONTENT_HASH 40  /* u8[16], canonical (big-endian) XXH3-128 of payload */
#define RVF_SH_UNCOMPRESSED 56  /* u32, 0 (no compression) */
#define RVF_SH_ALIGN_PAD 60     /* u32, 0 */

/* CRYPTO payload: exactly RVF_CRYPTO_PAYLOAD_LEN bytes. The signature is
 * over bytes [0, crypto segment header offset) of the file. */
#define RVF_SIG_ED25519 0u
#define RVF_CRYPTO_ALGO 0    /* u16 sig_algo */
#define RVF_CRYPTO_RESERVED 2 /* u16, 0 */
#define RVF_CRYPTO_PUBKEY 4  /* u8[32] */
#define RVF_CRYPTO_SIG 36    /* u8[64] */
#define RVF_CRYPTO_PAYLOAD_LEN 100u
#define RVF_PUBKEY_LEN 32u
#define RVF_SIG_LEN 64u
/* The whole CRYPTO segment in the file: header + payload + padding to 64.
 * It is last, so it is the package's final 192 bytes (signature first:
 * found without parsing). */
#define RVF_CRYPTO_SEGMENT_SIZE 192u
_Static_assert(RVF_CRYPTO_SEGMENT_SIZE ==
                   (RVF_SEG_HEADER_SIZE + RVF_CRYPTO_PAYLOAD_LEN + RVF_SEG_ALIGN - 1) /
                       RVF_SEG_ALIGN * RVF_SEG_ALIGN,
               "CRYPTO segment size");

#define RVF_HASH_LEN 16u

struct rvf_segment {
    uint64_t offset;         /* of the header, from the start of the file */
    uint64_t payload_offset; /* offset + 64 */
    uint64_t payload_len;
    uint64_t timestamp_ns;
    uint8_t type;            /* RVF_SEG_* */
    uint8_t hash[RVF_HASH_LEN]; /* content_hash as stored (canonical form) */
};

/* A parsed package: views into the caller's buffer plus the caller's
 * segment array. Valid while both live. */
struct rvf_package {
    const uint8_t *base;
    uint64_t size;
    struct rvf_segment *segs; /* caller storage */
    uint32_t nsegs;
    uint32_t manifest;        /* index of the manifest segment (always 0) */
    bool signed_pkg;          /* has a crypto segment */
    uint32_t crypto;          /* its index when signed_pkg */
    uint64_t signed_len;      /* bytes covered by the signature (= crypto header offset) */
    uint16_t sig_algo;        /* RVF_SIG_ED25519 */
    const uint8_t *pubkey;    /* RVF_PUBKEY_LEN bytes inside base, or NULL */
    const uint8_t *signature; /* RVF_SIG_LEN bytes inside base, or NULL */
};

/* Walk and check every segment header of buf[0..len): structure only,
 * no hashing. segs has room for cap entries (more segments -> RVF_E_LIMIT).
 * lim may be NULL for the defaults. On error *res says where. */
enum rvf_status rvf_parse(const uint8_t *buf, size_t len,
                          struct rvf_segment *segs, uint32_t cap,
                          const struct rvf_limits *lim,
                          struct rvf_package *pkg, struct rvf_result *res);

/* The first segment whose content hash is hash and, unless type is 0,
 * whose type is type; NULL if none. Linear in the number of segments. */
const struct rvf_segment *rvf_find_segment(const struct rvf_segment *segs,
                                           uint32_t nsegs,
                                           const uint8_t hash[RVF_HASH_LEN],
                                           uint8_t type);

/* Payload bytes of a segment of pkg. */
static inline const uint8_t *rvf_payload(const struct rvf_package *pkg,
                                         const struct rvf_segment *s)
{
    return pkg->base + s->payload_offset;
}

/* Writer helpers (for nubfs-pack and tests). */
/* Bytes a segment with this payload occupies in the file (header + payload
 * + padding); 0 if that overflows. */
uint64_t rvf_segment_size(uint64_t payload_len);
/* The encoders (rvf_segment_header_encode, rvf_crypto_payload_encode,
 * rvf_manifest_encode) are host-only: see the end of this file. */

/* ---- Manifest ---------------------------------------------------------- */

#define RVF_MF_MAGIC 0x4D465652u /* "RVFM" in file byte order */
#define RVF_MF_VERSION 1u
#define RVF_MF_HEADER_SIZE 96u
#define RVF_MF_COMPONENT_SIZE 32u
#define RVF_MF_REGION_SIZE 64u
#define RVF_MF_QUEUE_SIZE 32u
#define RVF_MF_GRANT_SIZE 16u
#define RVF_NAME_MAX 63u /* bytes, excluding the NUL */
#define RVF_MAX_PRIORITY 255u

enum rvf_region_policy {
    RVF_REGION_IMMUTABLE = 0,   /* initial content = a DATA cap, never written */
    RVF_REGION_APPEND_ONLY = 1, /* starts empty, grows up to max_size */
    RVF_REGION_SLAB = 2,        /* slot_count slots of slot_size bytes, zeroed */
};

enum rvf_object_kind {
    RVF_OBJ_REGION = 0,
    RVF_OBJ_QUEUE = 1,
    RVF_OBJ_COMPONENT = 2,
};

#define RVF_RIGHT_READ 0x01u
#define RVF_RIGHT_WRITE 0x02u
#define RVF_RIGHT_GRANT 0x04u
#define RVF_RIGHT_REVOKE 0x08u
#define RVF_RIGHT_EXECUTE 0x10u
#define RVF_RIGHTS_ALL 0x1Fu

/* A validated manifest: a view into its bytes. Only rvf_manifest_parse
 * fills it; the accessors below trust it (and stay in bounds anyway). */
struct rvf_manifest {
    const uint8_t *base;
    uint32_t size;
    uint16_t version;
    const char *name;         /* NUL-terminated, inside base */
    const char *pkg_version;  /* NUL-terminated, inside base */
    uint32_t ncomponents, nregions, nqueues, ngrants;
    uint32_t ntasks;          /* entry points summed over all components */
    /* table offsets inside base (internal to the accessors) */
    uint32_t comp_off, region_off, queue_off, grant_off;
    uint32_t list_off, nlist, str_off, str_size;
};

/* Views of one record. Pointers point into the manifest bytes. */
struct rvf_component {
    const char *name;
    uint32_t priority;         /* 0..RVF_MAX_PRIORITY */
    const uint8_t *wasm_hash;  /* RVF_HASH_LEN bytes: cap hash of a WASM segment */
    uint32_t nentries;         /* WIT entry points (tasks) */
    uint32_t entries_first;    /* index into the list pool */
};

struct rvf_region {
    const char *name;
    uint32_t policy;           /* enum rvf_region_policy */
    uint32_t owner;            /* component index */
    uint64_t max_size;         /* append-only */
    uint64_t slot_size, slot_count; /* slab */
    const uint8_t *init_hash;  /* immutable: cap hash of a DATA segment; else all zero */
    uint32_t nreaders, readers_first; /* component indices, strictly increasing */
    uint32_t nwriters, writers_first;
};

struct rvf_queue {
    uint32_t src, dst;         /* component indices */
    const char *src_port, *dst_port;
    uint32_t capacity;         /* power of two */
    uint32_t max_msg;          /* bytes */
};

struct rvf_grant {
    uint32_t component;
    uint32_t kind;             /* enum rvf_object_kind */
    uint32_t object;           /* index in the table of that kind */
    uint32_t rights;           /* RVF_RIGHT_* */
};

/* Validate manifest bytes buf[0..len) and fill *m. segs/nsegs are the
 * package's segments, to check every hash the manifest names (component
 * -> a WASM segment, immutable region -> a DATA segment); pass NULL/0 to
 * skip that check (a standalone manifest, e.g. in `nubfs-pack inspect`).
 * lim may be NULL for the defaults. */
enum rvf_status rvf_manifest_parse(const uint8_t *buf, size_t len,
                                   const struct rvf_segment *segs,
                                   uint32_t nsegs,
                                   const struct rvf_limits *lim,
                                   struct rvf_manifest *m,
                                   struct rvf_result *res);

/* Accessors on a manifest rvf_manifest_parse accepted; i < the count. */
void rvf_manifest_component(const struct rvf_manifest *m, uint32_t i,
                            struct rvf_component *out);
void rvf_manifest_region(const struct rvf_manifest *m, uint32_t i,
                         struct rvf_region *out);
void rvf_manifest_queue(const struct rvf_manifest *m, uint32_t i,
                        struct rvf_queue *out);
void rvf_manifest_grant(const struct rvf_manifest *m, uint32_t i,
                        struct rvf_grant *out);
/* Entry point j (< c->nentries) of a component. */
const char *rvf_manifest_entry(const struct rvf_manifest *m,
                               const struct rvf_component *c, uint32_t j);
/* Whether component comp is in the region's read / write set. */
bool rvf_region_readable_by(const struct rvf_manifest *m,
                            const struct rvf_region *r, uint32_t comp);
bool rvf_region_writable_by(const struct rvf_manifest *m,
                            const struct rvf_region *r, uint32_t comp);
/* Raw list-pool item (component index or string) for custom walks. */
uint32_t rvf_manifest_list_item(const struct rvf_manifest *m, uint32_t idx);
/* Index of the component / region with this name, or -1. */
int32_t rvf_manifest_find_component(const struct rvf_manifest *m,
                                    const char *name);
int32_t rvf_manifest_find_region(const struct rvf_manifest *m,
                                 const char *name);

/* Encoder input: plain C description of a manifest. Strings are
 * NUL-terminated; index lists and grants may be in any order (the
 * encoder sorts them into the canonical order the parser requires). */
struct rvf_component_desc {
    const char *name;
    uint32_t priority;
    uint8_t wasm_hash[RVF_HASH_LEN];
    const char *const *entries;
    uint32_t nentries;
};

struct rvf_region_desc {
    const char *name;
    uint32_t policy;
    uint32_t owner;
    uint64_t max_size;              /* append-only */
    uint64_t slot_size, slot_count; /* slab */
    uint8_t init_hash[RVF_HASH_LEN]; /* immutable */
    const uint32_t *readers;
    uint32_t nreaders;
    const uint32_t *writers;
    uint32_t nwriters;
};

struct rvf_queue_desc {
    uint32_t src, dst;
    const char *src_port, *dst_port;
    uint32_t capacity;
    uint32_t max_msg;
};

struct rvf_manifest_desc {
    const char *name;
    const char *version;
    const struct rvf_component_desc *components;
    uint32_t ncomponents;
    const struct rvf_region_desc *regions;
    uint32_t nregions;
    const struct rvf_queue_desc *queues;
    uint32_t nqueues;
    const struct rvf_grant *grants; /* same shape as the view */
    uint32_t ngrants;
};


/* ---- WASM structure ---------------------------------------------------- */

#define RVF_WASM_EXPORT_FUNC 0u

struct rvf_wasm_info {
    uint32_t nsections;     /* all sections, custom included */
    uint32_t section_mask;  /* bit id set for each non-custom section present */
    uint32_t nfunc_exports; /* exports of kind func */
};

/* Check magic "\0asm", version 1, every section id known (0..12), the
 * non-custom ones at most once each in canonical order (1 2 3 4 5 6 7 8 9
 * 12 10 11), every size a valid LEB128 u32 inside the module, the export
 * section's entries well-formed. A walk over sections, not over bytes.
 * info and lim may be NULL. */
enum rvf_status rvf_wasm_validate(const uint8_t *buf, size_t len,
                                  const struct rvf_limits *lim,
                                  struct rvf_wasm_info *info,
                                  struct rvf_result *res);

/* Whether a module that rvf_wasm_validate accepted exports name with the
 * given kind (RVF_WASM_EXPORT_FUNC for WIT entry points). */
bool rvf_wasm_has_export(const uint8_t *buf, size_t len, const char *name,
                         uint8_t kind);

/* ---- Package (manifest and modules together) ---------------------------- */

/* What needs both a parsed manifest and the package's modules: every WASM
 * segment passes rvf_wasm_validate (with lim), and every entry point of
 * every component is a function its module exports (RVF_E_REF otherwise).
 * mf must come from rvf_manifest_parse over pkg's segments. The guest's
 * mount step 4 and `nubfs-pack verify` both call this. lim may be NULL. */
enum rvf_status rvf_check_components(const struct rvf_package *pkg,
                                     const struct rvf_manifest *mf,
                                     const struct rvf_limits *lim,
                                     struct rvf_result *res);

/* ---- Host library only (libxxhash; writers: rvf_encode.c) -------------- */
#if __STDC_HOSTED__
/* Fill a 64-byte header. hash is the canonical XXH3-128 of the payload. */
void rvf_segment_header_encode(uint8_t out[RVF_SEG_HEADER_SIZE], uint8_t type,
                               uint64_t segment_id, uint64_t payload_len,
                               uint64_t timestamp_ns,
                               const uint8_t hash[RVF_HASH_LEN]);
/* Fill a CRYPTO payload (RVF_CRYPTO_PAYLOAD_LEN bytes). */
void rvf_crypto_payload_encode(uint8_t out[RVF_CRYPTO_PAYLOAD_LEN],
                               uint16_t sig_algo,
                               const uint8_t pubkey[RVF_PUBKEY_LEN],
                               const uint8_t sig[RVF_SIG_LEN]);
/* Encode d into out[0..cap). *out_len gets the size needed even when it
 * does not fit (RVF_E_NOSPACE), so a caller can ask with cap = 0 first.
 * The result is checked with rvf_manifest_parse (no segment list, lim or
 * defaults) before RVF_OK is returned, so what encodes also parses. */
enum rvf_status rvf_manifest_encode(const struct rvf_manifest_desc *d,
                                    const struct rvf_limits *lim,
                                    uint8_t *out, size_t cap, size_t *out_len,
                                    struct rvf_result *res);
/* Canonical (big-endian, as `xxhsum -H2` prints) XXH3-128 of buf. */
void rvf_hash128(const void *buf, size_t len, uint8_t out[RVF_HASH_LEN]);
/* Hash every payload of pkg and compare with its header: RVF_E_HASH
 * naming the first segment that differs. */
enum rvf_status rvf_check_hashes(const struct rvf_package *pkg,
                                 struct rvf_result *res);
#endif

#endif /* NUB_RVF_H */
