/* nubwasm: the WebAssembly interpreter's embedding API (docs/wasm.md).
 * Plain freestanding C, built into the guest kernel and into the host
 * library `nubwasm`. Every module byte is hostile: decoding and validation
 * are bounded, single-pass, without recursion. Execution is resumable: a
 * task runs until it returns, traps, runs out of fuel or a host import
 * suspends it; the last two can be resumed. Memory comes from the
 * embedder's allocator (struct nub_wasm_env). */
#ifndef NUB_WASM_H
#define NUB_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value types, as encoded in the binary format. */
enum nub_wasm_type {
    NUB_WASM_I32 = 0x7f,
    NUB_WASM_I64 = 0x7e,
    NUB_WASM_F32 = 0x7d,
    NUB_WASM_F64 = 0x7c,
    NUB_WASM_FUNCREF = 0x70,
    NUB_WASM_EXTERNREF = 0x6f,
};

/* Import/export kinds, as encoded. */
enum nub_wasm_kind { NUB_WASM_KFUNC = 0, NUB_WASM_KTABLE = 1, NUB_WASM_KMEMORY = 2, NUB_WASM_KGLOBAL = 3 };

/* Why decoding, validation or instantiation refused. */
enum nub_wasm_err {
    NUB_WASM_E_OK = 0,
    NUB_WASM_E_MALFORMED,   /* not a well-formed binary */
    NUB_WASM_E_INVALID,     /* well-formed but fails validation */
    NUB_WASM_E_LIMIT,       /* over an implementation limit */
    NUB_WASM_E_NOMEM,       /* the allocator said no */
    NUB_WASM_E_UNLINKABLE,  /* an import is missing or of the wrong type */
    NUB_WASM_E_TRAP,        /* a segment or the start function trapped */
};

/* How a run ended. */
enum nub_wasm_status {
    NUB_WASM_DONE = 0,      /* returned; results are in the task */
    NUB_WASM_TRAPPED,       /* trap: see task->trap */
    NUB_WASM_OUT_OF_FUEL,   /* resumable: nub_wasm_run again */
    NUB_WASM_SUSPENDED,     /* a host import suspended: nub_wasm_resume */
};

enum nub_wasm_trap {
    NUB_WASM_TRAP_NONE = 0,
    NUB_WASM_TRAP_UNREACHABLE,
    NUB_WASM_TRAP_DIV_ZERO,
    NUB_WASM_TRAP_INT_OVERFLOW,
    NUB_WASM_TRAP_INVALID_CONVERSION,
    NUB_WASM_TRAP_OOB_MEMORY,
    NUB_WASM_TRAP_OOB_TABLE,
    NUB_WASM_TRAP_UNDEFINED_ELEMENT,   /* call_indirect past the table */
    NUB_WASM_TRAP_UNINITIALIZED,       /* call_indirect of a null entry */
    NUB_WASM_TRAP_INDIRECT_TYPE,       /* call_indirect type mismatch */
    NUB_WASM_TRAP_STACK_EXHAUSTED,     /* value stack or call depth */
    NUB_WASM_TRAP_HOST,                /* a host import trapped */
};
const char *nub_wasm_trap_str(enum nub_wasm_trap t); /* the spec's wording */

/* Allocator of the embedder; zalloc returns zeroed memory. */
struct nub_wasm_env {
    void *(*zalloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *p, size_t size);
    void *ctx;
};

/* Limits (0 = the default in brackets). */
struct nub_wasm_limits {
    uint32_t max_pages;       /* linear memory, 64 KiB pages [256 = 16 MiB] */
    uint32_t max_table;       /* table entries [65536] */
    uint32_t stack_slots;     /* value stack, 8-byte slots [65536 = 512 KiB] */
    uint32_t call_depth;      /* nested calls [1024] */
    uint32_t max_module;      /* module size, bytes [16 MiB] */
    uint32_t max_locals;      /* locals of one function [50000] */
};
#define NUB_WASM_DEF_PAGES 256u
#define NUB_WASM_DEF_TABLE 65536u
#define NUB_WASM_DEF_STACK 65536u
#define NUB_WASM_DEF_DEPTH 1024u
#define NUB_WASM_DEF_MODULE (16u << 20)
#define NUB_WASM_DEF_LOCALS 50000u

struct nub_wasm_module;
struct nub_wasm_instance;
struct nub_wasm_task;
struct nub_wasm_func;
struct nub_wasm_table;
struct nub_wasm_memory;
struct nub_wasm_global;

/* A function type. */
struct nub_wasm_functype {
    uint32_t nparams, nresults;
    const uint8_t *params, *results; /* enum nub_wasm_type each */
};

/* Decode and validate (every function body type-checked and compiled).
 * *where gets the byte offset of the error, *msg a short reason. */
enum nub_wasm_err nub_wasm_decode(const struct nub_wasm_env *env,
                                  const struct nub_wasm_limits *lim,
                                  const uint8_t *bytes, size_t len,
                                  struct nub_wasm_module **out,
                                  const char **msg, size_t *where);
void nub_wasm_module_free(struct nub_wasm_module *m);

/* Imports and exports of a module. */
uint32_t nub_wasm_import_count(const struct nub_wasm_module *m);
/* Names are not NUL-terminated: *mod_len / *name_len bytes. */
void nub_wasm_import_get(const struct nub_wasm_module *m, uint32_t i,
                         const char **mod, uint32_t *mod_len,
                         const char **name, uint32_t *name_len,
                         enum nub_wasm_kind *kind);
/* Exports of a module, by position. */
uint32_t nub_wasm_export_count(const struct nub_wasm_module *m);
void nub_wasm_export_get(const struct nub_wasm_module *m, uint32_t i, const char **name,
                         uint32_t *name_len, enum nub_wasm_kind *kind);
/* The type an import of kind FUNC expects. */
const struct nub_wasm_functype *nub_wasm_import_functype(const struct nub_wasm_module *m, uint32_t i);

/* An external value: what an import is given, what an export is. */
struct nub_wasm_extern {
    enum nub_wasm_kind kind;
    union {
        struct nub_wasm_func *func;
        struct nub_wasm_table *table;
        struct nub_wasm_memory *memory;
        struct nub_wasm_global *global;
    } u;
};

/* A host function, the body of an import. It reads args (nparams values),
 * writes results (nresults values) and returns NUB_WASM_DONE, or
 * NUB_WASM_TRAPPED, or NUB_WASM_SUSPENDED: the task stops, and
 * nub_wasm_resume later gives the results. Values are 64-bit slots: i32
 * and f32 in the low 32 bits (f32/f64 as IEEE bit patterns). */
typedef enum nub_wasm_status (*nub_wasm_host_fn)(void *ctx, struct nub_wasm_task *task,
                                                 const uint64_t *args, uint64_t *results);
struct nub_wasm_func *nub_wasm_host_func(const struct nub_wasm_env *env,
                                         const struct nub_wasm_functype *type,
                                         nub_wasm_host_fn fn, void *ctx);
void nub_wasm_host_func_free(const struct nub_wasm_env *env, struct nub_wasm_func *f);
const struct nub_wasm_functype *nub_wasm_func_type(const struct nub_wasm_func *f);

/* Host-made tables, memories and globals (for imports). */
struct nub_wasm_table *nub_wasm_table_new(const struct nub_wasm_env *env, uint8_t reftype,
                                          uint32_t min, uint32_t max, bool has_max);
struct nub_wasm_memory *nub_wasm_memory_new(const struct nub_wasm_env *env, uint32_t min,
                                            uint32_t max, bool has_max);
struct nub_wasm_global *nub_wasm_global_new(const struct nub_wasm_env *env, uint8_t type,
                                            bool mut, uint64_t value);
void nub_wasm_table_free(const struct nub_wasm_env *env, struct nub_wasm_table *t);
void nub_wasm_memory_free(const struct nub_wasm_env *env, struct nub_wasm_memory *m);
void nub_wasm_global_free(const struct nub_wasm_env *env, struct nub_wasm_global *g);
uint64_t nub_wasm_global_value(const struct nub_wasm_global *g);
uint8_t *nub_wasm_memory_data(const struct nub_wasm_memory *m, uint64_t *size);

/* Instantiate: imports[i] for each import of m, in order. Runs the data
 * and element segments and the start function (with fuel `start_fuel`,
 * 0 = unbounded). The instance keeps m: free the instance first. On
 * NUB_WASM_E_TRAP *out is still set: segments applied before the trap
 * may have put its functions into imported tables, so the caller frees
 * it only when those are gone. */
enum nub_wasm_err nub_wasm_instantiate(const struct nub_wasm_module *m,
                                       const struct nub_wasm_extern *imports, uint32_t nimports,
                                       uint64_t start_fuel,
                                       struct nub_wasm_instance **out, const char **msg);
void nub_wasm_instance_free(struct nub_wasm_instance *inst);
/* The instance's linear memory (its own or imported), or NULL. */
struct nub_wasm_memory *nub_wasm_instance_memory(const struct nub_wasm_instance *inst);
/* An export by name: false if there is none. */
bool nub_wasm_export(const struct nub_wasm_instance *inst, const char *name, size_t name_len,
                     struct nub_wasm_extern *out);

/* Tasks: one thread of execution over instances. */
struct nub_wasm_task *nub_wasm_task_new(const struct nub_wasm_env *env,
                                        const struct nub_wasm_limits *lim);
void nub_wasm_task_free(struct nub_wasm_task *t);
/* Prepare a call of f with args (its nparams values); then nub_wasm_run. */
int nub_wasm_task_start(struct nub_wasm_task *t, struct nub_wasm_func *f, const uint64_t *args);
/* Run with `fuel` units (0 = unbounded). About one unit per instruction:
 * charged per function entry and per loop iteration for the instructions
 * of the straight-line code that follows. */
enum nub_wasm_status nub_wasm_run(struct nub_wasm_task *t, uint64_t fuel);
/* Give a suspended host import its results, then nub_wasm_run again. */
int nub_wasm_resume(struct nub_wasm_task *t, const uint64_t *results);
enum nub_wasm_trap nub_wasm_task_trap(const struct nub_wasm_task *t);
const uint64_t *nub_wasm_task_results(const struct nub_wasm_task *t, uint32_t *n);
uint64_t nub_wasm_task_fuel_used(const struct nub_wasm_task *t);

#endif /* NUB_WASM_H */
