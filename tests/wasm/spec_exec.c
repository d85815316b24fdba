/* The spec runner's commands: decoding and validation assertions. Actions
 * and execution assertions are reported unsupported until the executor
 * lands (issue 10, step 2). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec_exec.h"
#include "wasm.h"
#include "wasm_host.h"

struct spec_ctx {
    char dir[PATH_MAX];
    char msg[512];
};

struct spec_ctx *spec_ctx_new(const char *dir)
{
    struct spec_ctx *sx = calloc(1, sizeof *sx);
    snprintf(sx->dir, sizeof sx->dir, "%s", dir);
    return sx;
}

void spec_ctx_free(struct spec_ctx *sx)
{
    free(sx);
}

static unsigned char *load(struct spec_ctx *sx, const char *name, size_t *len)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", sx->dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)(n > 0 ? n : 0);
    return buf;
}

/* Decode a module file; NUB_WASM_E_OK or the error (message in sx->msg). */
static enum nub_wasm_err decode(struct spec_ctx *sx, const char *file, struct nub_wasm_module **m)
{
    size_t len = 0;
    unsigned char *bytes = file ? load(sx, file, &len) : NULL;
    *m = NULL;
    if (!bytes) {
        snprintf(sx->msg, sizeof sx->msg, "cannot read %s", file ? file : "(none)");
        return NUB_WASM_E_LIMIT;
    }
    const char *msg = NULL;
    size_t where = 0;
    enum nub_wasm_err e = nub_wasm_decode(&nub_wasm_host_env, NULL, bytes, len, m, &msg, &where);
    free(bytes);
    snprintf(sx->msg, sizeof sx->msg, "%s at byte %zu", msg ? msg : "ok", where);
    return e;
}

enum spec_result spec_command(struct spec_ctx *sx, json_t *cmd, const char **detail)
{
    const char *type = json_string_value(json_object_get(cmd, "type"));
    const char *file = json_string_value(json_object_get(cmd, "filename"));
    struct nub_wasm_module *m = NULL;
    *detail = NULL;
    if (!strcmp(type, "module")) {
        enum nub_wasm_err e = decode(sx, file, &m);
        nub_wasm_module_free(m);
        if (e != NUB_WASM_E_OK) {
            *detail = sx->msg;
            return SPEC_MODULE_FAIL;
        }
        return SPEC_NOT_ASSERTION;
    }
    if (!strcmp(type, "assert_malformed") || !strcmp(type, "assert_invalid")) {
        enum nub_wasm_err e = decode(sx, file, &m);
        nub_wasm_module_free(m);
        if (e == NUB_WASM_E_OK) {
            snprintf(sx->msg, sizeof sx->msg, "%s accepted, expected \"%s\"", file,
                     json_string_value(json_object_get(cmd, "text")));
            *detail = sx->msg;
            return SPEC_FAIL;
        }
        return SPEC_PASS;
    }
    if (!strcmp(type, "assert_unlinkable") || !strcmp(type, "assert_uninstantiable")) {
        enum nub_wasm_err e = decode(sx, file, &m);
        nub_wasm_module_free(m);
        if (e != NUB_WASM_E_OK) {
            *detail = sx->msg;
            return SPEC_FAIL;
        }
        return SPEC_UNSUPPORTED;
    }
    if (!strncmp(type, "assert_", 7))
        return SPEC_UNSUPPORTED; /* not yet executed */
    return SPEC_NOT_ASSERTION;
}
