/* The spec runner's command interpreter: modules, registrations, actions
 * and assertions of one wast2json file, against nubwasm. */
#ifndef NUB_SPEC_EXEC_H
#define NUB_SPEC_EXEC_H

#include <jansson.h>

enum spec_result {
    SPEC_PASS,
    SPEC_FAIL,
    SPEC_UNSUPPORTED,
    SPEC_NOT_ASSERTION, /* module, register, action: not counted */
    SPEC_MODULE_FAIL,   /* a module the file expects to load did not */
};

struct spec_ctx;
struct spec_ctx *spec_ctx_new(const char *dir);
void spec_ctx_free(struct spec_ctx *sx);
/* Run one command; *detail may get a reason (static or owned by sx). */
enum spec_result spec_command(struct spec_ctx *sx, json_t *cmd, const char **detail);

#endif /* NUB_SPEC_EXEC_H */
