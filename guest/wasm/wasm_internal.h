/* nubwasm internals: the decoded module, the compact internal code the
 * compiler emits and the executor runs, and the runtime objects. Shared
 * by wasm_decode.c, wasm_compile.c, wasm_inst.c and wasm_exec.c only.
 *
 * Internal code: an array of 32-bit words per function. Each instruction
 * is an op word followed by its operands. Value operands are frame slots:
 * a signed offset from the frame pointer fp (uint64_t slots): locals at
 * 0..L-1, the operand stack above them (the validator knows every stack
 * height, so each stack position has a fixed "home" slot), and the
 * function's constants below fp (-1, -2, ...), copied in at entry. Branch
 * targets are word indices, resolved at compile time. */
#ifndef NUB_WASM_INTERNAL_H
#define NUB_WASM_INTERNAL_H

#include "wasm.h"

#define WASM_PAGE 65536u
#define WASM_MAX_PAGES 65536u

/* Every internal op; operand layout in the comment of each group. */
#define WASM_OPS(X) \
    /* control */ \
    X(UNREACHABLE) X(FUEL) /* n */ X(BR) /* tgt */ X(BR_IF) /* c tgt */ \
    X(BR_UNLESS) /* c tgt */ X(BR_TABLE) /* i n tgt*(n+1) */ \
    X(RETURN) /* src */ X(CALL) /* f argbase */ \
    X(CALL_INDIRECT) /* type table i argbase */ \
    X(COPY) /* d s */ X(SELECT) /* d a b c */ \
    X(GLOBAL_GET) /* d g */ X(GLOBAL_SET) /* g s */ \
    /* memory: d addr off | addr val off */ \
    X(I32_LOAD) X(I64_LOAD) X(I32_LOAD8_S) X(I32_LOAD8_U) X(I32_LOAD16_S) X(I32_LOAD16_U) \
    X(I64_LOAD8_S) X(I64_LOAD8_U) X(I64_LOAD16_S) X(I64_LOAD16_U) X(I64_LOAD32_S) X(I64_LOAD32_U) \
    X(I32_STORE) X(I64_STORE) X(STORE8) X(STORE16) \
    X(MEMORY_SIZE) /* d */ X(MEMORY_GROW) /* d n */ \
    X(MEMORY_INIT) /* seg d s n */ X(DATA_DROP) /* seg */ X(MEMORY_COPY) /* d s n */ \
    X(MEMORY_FILL) /* d v n */ \
    /* references and tables */ \
    X(REF_IS_NULL) /* d a */ X(REF_FUNC) /* d f */ X(TABLE_GET) /* d t i */ \
    X(TABLE_SET) /* t i v */ X(TABLE_SIZE) /* d t */ X(TABLE_GROW) /* d t v n */ \
    X(TABLE_FILL) /* t i v n */ X(TABLE_COPY) /* dt st d s n */ \
    X(TABLE_INIT) /* t e d s n */ X(ELEM_DROP) /* e */ \
    /* numeric: d a [b] */ \
    X(I32_EQZ) X(I32_EQ) X(I32_NE) X(I32_LT_S) X(I32_LT_U) X(I32_GT_S) X(I32_GT_U) \
    X(I32_LE_S) X(I32_LE_U) X(I32_GE_S) X(I32_GE_U) \
    X(I64_EQZ) X(I64_EQ) X(I64_NE) X(I64_LT_S) X(I64_LT_U) X(I64_GT_S) X(I64_GT_U) \
    X(I64_LE_S) X(I64_LE_U) X(I64_GE_S) X(I64_GE_U) \
    X(F32_EQ) X(F32_NE) X(F32_LT) X(F32_GT) X(F32_LE) X(F32_GE) \
    X(F64_EQ) X(F64_NE) X(F64_LT) X(F64_GT) X(F64_LE) X(F64_GE) \
    X(I32_CLZ) X(I32_CTZ) X(I32_POPCNT) X(I32_ADD) X(I32_SUB) X(I32_MUL) X(I32_DIV_S) \
    X(I32_DIV_U) X(I32_REM_S) X(I32_REM_U) X(I32_AND) X(I32_OR) X(I32_XOR) X(I32_SHL) \
    X(I32_SHR_S) X(I32_SHR_U) X(I32_ROTL) X(I32_ROTR) \
    X(I64_CLZ) X(I64_CTZ) X(I64_POPCNT) X(I64_ADD) X(I64_SUB) X(I64_MUL) X(I64_DIV_S) \
    X(I64_DIV_U) X(I64_REM_S) X(I64_REM_U) X(I64_AND) X(I64_OR) X(I64_XOR) X(I64_SHL) \
    X(I64_SHR_S) X(I64_SHR_U) X(I64_ROTL) X(I64_ROTR) \
    X(F32_ABS) X(F32_NEG) X(F32_CEIL) X(F32_FLOOR) X(F32_TRUNC) X(F32_NEAREST) X(F32_SQRT) \
    X(F32_ADD) X(F32_SUB) X(F32_MUL) X(F32_DIV) X(F32_MIN) X(F32_MAX) X(F32_COPYSIGN) \
    X(F64_ABS) X(F64_NEG) X(F64_CEIL) X(F64_FLOOR) X(F64_TRUNC) X(F64_NEAREST) X(F64_SQRT) \
    X(F64_ADD) X(F64_SUB) X(F64_MUL) X(F64_DIV) X(F64_MIN) X(F64_MAX) X(F64_COPYSIGN) \
    X(I32_WRAP_I64) X(I32_TRUNC_F32_S) X(I32_TRUNC_F32_U) X(I32_TRUNC_F64_S) X(I32_TRUNC_F64_U) \
    X(I64_EXTEND_I32_S) X(I64_EXTEND_I32_U) X(I64_TRUNC_F32_S) X(I64_TRUNC_F32_U) \
    X(I64_TRUNC_F64_S) X(I64_TRUNC_F64_U) X(F32_CONVERT_I32_S) X(F32_CONVERT_I32_U) \
    X(F32_CONVERT_I64_S) X(F32_CONVERT_I64_U) X(F32_DEMOTE_F64) X(F64_CONVERT_I32_S) \
    X(F64_CONVERT_I32_U) X(F64_CONVERT_I64_S) X(F64_CONVERT_I64_U) X(F64_PROMOTE_F32) \
    X(REINTERPRET) /* never emitted: the compiler retypes the stack entry */ \
    X(I32_EXTEND8_S) X(I32_EXTEND16_S) X(I64_EXTEND8_S) X(I64_EXTEND16_S) X(I64_EXTEND32_S) \
    X(I32_TRUNC_SAT_F32_S) X(I32_TRUNC_SAT_F32_U) X(I32_TRUNC_SAT_F64_S) X(I32_TRUNC_SAT_F64_U) \
    X(I64_TRUNC_SAT_F32_S) X(I64_TRUNC_SAT_F32_U) X(I64_TRUNC_SAT_F64_S) X(I64_TRUNC_SAT_F64_U) \
    /* fused compare-and-branch: a b tgt (branch if the compare holds) */ \
    X(BR_I32_EQ) X(BR_I32_NE) X(BR_I32_LT_S) X(BR_I32_LT_U) X(BR_I32_GT_S) X(BR_I32_GT_U) \
    X(BR_I32_LE_S) X(BR_I32_LE_U) X(BR_I32_GE_S) X(BR_I32_GE_U)

enum wasm_op {
#define WASM_OP_ENUM(n) OP_##n,
    WASM_OPS(WASM_OP_ENUM)
#undef WASM_OP_ENUM
    OP_COUNT_
};

/* A name inside the module's bytes. */
struct wasm_name {
    uint32_t off, len;
};

struct wasm_limits_t {
    uint32_t min, max;
    bool has_max;
};

struct wasm_import {
    struct wasm_name mod, name;
    uint8_t kind;
    uint32_t index;          /* index into its space */
    uint32_t typeidx;        /* func: its type index */
    uint8_t type;            /* table reftype / global valtype */
    bool mut;                /* global */
    struct wasm_limits_t lim; /* table / memory */
};

struct wasm_export {
    struct wasm_name name;
    uint8_t kind;
    uint32_t index;
};

/* A constant expression (globals, offsets, element items). */
enum { CE_I32, CE_I64, CE_F32, CE_F64, CE_NULL, CE_FUNC, CE_GLOBAL };
struct wasm_cexpr {
    uint8_t kind;
    uint64_t val; /* the constant, or the function / global index */
};

struct wasm_globaldef {
    uint8_t type;
    bool mut;
    struct wasm_cexpr init;
};

struct wasm_tabledef {
    uint8_t type;
    struct wasm_limits_t lim;
};

enum { SEG_ACTIVE, SEG_PASSIVE, SEG_DECLARATIVE };
struct wasm_elem {
    uint8_t mode, type;
    uint32_t table;
    struct wasm_cexpr offset;
    uint32_t count;
    struct wasm_cexpr *items;
};

struct wasm_data {
    uint8_t mode;
    uint32_t memory;
    struct wasm_cexpr offset;
    uint32_t off, len; /* bytes in the module */
};

/* A compiled function body. */
struct wasm_code {
    uint32_t *code;
    uint32_t ncode, codecap;
    uint64_t *consts;  /* copied below fp at entry */
    uint32_t nconsts, constcap;
    uint32_t nlocals;  /* including params */
    uint32_t frame;    /* nlocals + max stack height: where a callee's frame starts */
};

struct nub_wasm_module {
    struct nub_wasm_env env;
    struct nub_wasm_limits lim;
    uint8_t *bytes; /* a copy of the module */
    size_t len;
    uint32_t ntypes;
    struct nub_wasm_functype *types;
    uint32_t *type_canon;   /* smallest index of an equal type */
    uint8_t *typebytes;     /* storage for params/results */
    uint32_t nimports;
    struct wasm_import *imports;
    uint32_t nfuncs, nfunc_imports; /* function index space */
    uint32_t *func_type;
    struct wasm_code *codes;        /* nfuncs - nfunc_imports */
    uint32_t ntables, ntable_imports;
    struct wasm_tabledef *tables;
    uint32_t nmems, nmem_imports;
    struct wasm_limits_t mem;
    uint32_t nglobals, nglobal_imports;
    struct wasm_globaldef *globals; /* all, imported ones with no init */
    uint32_t nexports;
    struct wasm_export *exports;
    bool has_start;
    uint32_t start;
    uint32_t nelems;
    struct wasm_elem *elems;
    uint32_t ndata;
    bool has_datacount;
    uint32_t datacount;
    struct wasm_data *data;
    uint8_t *func_declared; /* ref.func may name it (C.refs) */
};

/* Runtime objects. */
struct nub_wasm_func {
    const struct nub_wasm_functype *type;
    struct nub_wasm_instance *inst; /* NULL for a host function */
    const struct wasm_code *code;
    nub_wasm_host_fn host;
    void *host_ctx;
    struct nub_wasm_functype own_type; /* host functions keep a copy */
    uint8_t own_types[];
};

struct nub_wasm_table {
    uint64_t *elems; /* 0 = null; funcref: struct nub_wasm_func * */
    uint32_t size, max;
    bool has_max;
    uint8_t type;
};

struct nub_wasm_memory {
    uint8_t *data;
    uint64_t size; /* bytes */
    uint32_t pages, max;
    bool has_max;
    uint32_t limit; /* pages allowed by the limits */
};

struct nub_wasm_global {
    uint64_t val;
    uint8_t type;
    bool mut;
};

struct nub_wasm_instance {
    const struct nub_wasm_module *m;
    struct nub_wasm_env env;
    struct nub_wasm_func **funcs;
    struct nub_wasm_func *own_funcs; /* the module's own, nfuncs - nfunc_imports */
    struct nub_wasm_table **tables;
    struct nub_wasm_memory *mem;
    bool own_mem;
    struct nub_wasm_global **globals;
    uint8_t *elem_dropped, *data_dropped;
    uint32_t nown_tables, nown_globals;
};

/* Helpers shared by the files. */
void *wasm_zalloc(const struct nub_wasm_env *env, size_t n, size_t size);
void wasm_free(const struct nub_wasm_env *env, void *p, size_t size);
bool wasm_types_equal(const struct nub_wasm_functype *a, const struct nub_wasm_functype *b);
void wasm_limits_defaults(struct nub_wasm_limits *out, const struct nub_wasm_limits *in);
bool wasm_memory_grow(const struct nub_wasm_env *env, struct nub_wasm_memory *mem, uint32_t delta);
bool wasm_table_grow(const struct nub_wasm_env *env, struct nub_wasm_table *t, uint32_t delta,
                     uint64_t init, uint32_t limit);

/* Compile and validate one function body [p, end) of function `fidx`. */
struct wasm_compile_err {
    const char *msg;
    size_t where;
    enum nub_wasm_err kind;
};
bool wasm_compile_func(const struct nub_wasm_module *m, uint32_t fidx, const uint8_t *p,
                       const uint8_t *end, struct wasm_code *out, struct wasm_compile_err *err);
void wasm_code_free(const struct nub_wasm_env *env, struct wasm_code *c);

/* Byte reader with bounds (wasm_decode.c). */
struct wasm_rd {
    const uint8_t *p, *end, *base;
    const char *err;
    enum nub_wasm_err kind;
};
bool wasm_rd_u8(struct wasm_rd *r, uint8_t *v);
bool wasm_rd_u32(struct wasm_rd *r, uint32_t *v);
bool wasm_rd_s32(struct wasm_rd *r, int32_t *v);
bool wasm_rd_s33(struct wasm_rd *r, int64_t *v);
bool wasm_rd_s64(struct wasm_rd *r, int64_t *v);
bool wasm_rd_fail(struct wasm_rd *r, enum nub_wasm_err kind, const char *msg);

#define WASM_MEMCPY __builtin_memcpy
#define WASM_MEMSET __builtin_memset
#define WASM_MEMMOVE __builtin_memmove

#endif /* NUB_WASM_INTERNAL_H */
