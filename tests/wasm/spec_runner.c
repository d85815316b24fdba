/* wasm.spec: the WebAssembly spec suite against nubwasm's host build.
 * Usage: spec_runner WAST2JSON SUITE_DIR [FILE.wast...]
 * Converts each .wast with wast2json into a temporary directory and runs
 * every command of the JSON. Every assertion is counted once: passed,
 * failed, or unsupported (with the reason; never counted as passed).
 * Exit status 1 if any assertion or module failed. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spec_exec.h"
#include "wasm.h"
#include "wasm_host.h"

struct counts {
    unsigned passed, failed, unsupported;
};

static unsigned shown;

static void failure(const char *file, json_int_t line, const char *what, const char *detail)
{
    if (shown++ < 60)
        fprintf(stderr, "FAIL %s:%lld: %s%s%s\n", file, (long long)line, what,
                detail ? ": " : "", detail ? detail : "");
}

/* Run one converted file: dir holds base.json and its modules. */
static void run_json(const char *dir, const char *base, struct counts *c, const char *wast)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s.json", dir, base);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
    if (!root) {
        c->failed++;
        failure(wast, 0, "cannot read wast2json output", jerr.text);
        return;
    }
    struct spec_ctx *sx = spec_ctx_new(dir);
    json_t *cmds = json_object_get(root, "commands");
    size_t i;
    json_t *cmd;
    json_array_foreach(cmds, i, cmd) {
        const char *type = json_string_value(json_object_get(cmd, "type"));
        json_int_t line = json_integer_value(json_object_get(cmd, "line"));
        const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
        const char *detail = NULL;
        if (!type)
            continue;
        if (!strcmp(type, "assert_malformed") && mtype && !strcmp(mtype, "text")) {
            /* text-format modules: wast2json leaves them as .wat, and the
             * interpreter reads only the binary format */
            c->unsupported++;
            continue;
        }
        enum spec_result r = spec_command(sx, cmd, &detail);
        switch (r) {
        case SPEC_PASS:
            c->passed++;
            break;
        case SPEC_FAIL:
            c->failed++;
            failure(wast, line, type, detail);
            break;
        case SPEC_UNSUPPORTED:
            c->unsupported++;
            break;
        case SPEC_NOT_ASSERTION:
            break;
        case SPEC_MODULE_FAIL:
            c->failed++;
            failure(wast, line, type, detail);
            break;
        }
    }
    spec_ctx_free(sx);
    json_decref(root);
}

static int rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(dir) ? -errno : 0;
}

static int run_file(const char *wast2json, const char *wast, struct counts *total)
{
    char tmpl[] = "/tmp/nubwasm-spec-XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) {
        perror("mkdtemp");
        return -1;
    }
    const char *slash = strrchr(wast, '/');
    char base[256];
    snprintf(base, sizeof base, "%s", slash ? slash + 1 : wast);
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char out[PATH_MAX];
        snprintf(out, sizeof out, "%s/%s.json", dir, base);
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(wast2json, wast2json, wast, "-o", out, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    struct counts c = {0};
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
        c.failed++;
        failure(wast, 0, "wast2json failed", NULL);
    } else {
        run_json(dir, base, &c, base);
    }
    rm_tree(dir);
    printf("%-28s %6u passed, %u failed, %u unsupported\n", base, c.passed, c.failed,
           c.unsupported);
    total->passed += c.passed;
    total->failed += c.failed;
    total->unsupported += c.unsupported;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s WAST2JSON SUITE_DIR [FILE.wast...]\n", argv[0]);
        return 2;
    }
    const char *w2j = argv[1], *suite = argv[2];
    char **files = NULL;
    size_t nfiles = 0;
    if (argc > 3) {
        files = calloc((size_t)argc, sizeof *files);
        for (int i = 3; i < argc; i++) {
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", suite, argv[i]);
            files[nfiles++] = strdup(p);
        }
    } else {
        DIR *d = opendir(suite);
        if (!d) {
            fprintf(stderr, "SKIPPED: no test suite at %s\n", suite);
            return 77;
        }
        struct dirent *e;
        size_t cap = 0;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".wast"))
                continue;
            if (nfiles == cap) {
                cap = cap ? cap * 2 : 64;
                files = realloc(files, cap * sizeof *files);
            }
            char p[PATH_MAX];
            snprintf(p, sizeof p, "%s/%s", suite, e->d_name);
            files[nfiles++] = strdup(p);
        }
        closedir(d);
        qsort(files, nfiles, sizeof *files, cmp_str);
    }
    struct counts total = {0};
    for (size_t i = 0; i < nfiles; i++) {
        run_file(w2j, files[i], &total);
        free(files[i]);
    }
    free(files);
    printf("wasm.spec: %zu files, %u assertions passed, %u failed, %u unsupported\n", nfiles,
           total.passed, total.failed, total.unsupported);
    return total.failed ? 1 : 0;
}
