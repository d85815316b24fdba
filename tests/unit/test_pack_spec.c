/* Unit tests for the nubfs-pack JSON spec reader (src/pack/spec.c): a good
 * spec turns into a manifest the shared parser accepts, and every bad
 * spec is refused with one message that names the JSON path at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"

static char dir[64];

/* (module (func (export "run"))) */
static const uint8_t tiny_wasm[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x02, 0x01, 0x00, 0x07, 0x07, 0x01, 0x03, 'r',  'u',  'n',  0x00, 0x00, 0x0a,
    0x04, 0x01, 0x02, 0x00, 0x0b,
};

static void put(const char *name, const void *data, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static void put_str(const char *name, const char *text)
{
    put(name, text, strlen(text));
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nub-test-spec-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    put("a.wasm", tiny_wasm, sizeof tiny_wasm);
    put("bad.wasm", "\0asm\2\0\0\0", 8);
    put("data.bin", "initial content\n", 16);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A valid base with two components, used by most cases via a %s hole for
 * the part under test. */
#define BASE_HEAD                                                                                \
    "{\"name\":\"p\",\"version\":\"1.0\",\"components\":["                                      \
    "{\"name\":\"src\",\"wasm\":\"a.wasm\",\"entry\":[\"run\"]},"                               \
    "{\"name\":\"dst\",\"wasm\":\"a.wasm\",\"entry\":[\"run\"],\"priority\":3}]"

static int load(const char *text, const struct rvf_limits *lim, struct pack_spec *s, char *err)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        fail_msg("test JSON does not parse: %s: %s", je.text, text);
        return -2;
    }
    int r = pack_spec_from_json(root, "spec.json", dir, lim, s, err, PACK_ERR_MAX);
    json_decref(root);
    return r;
}

static void expect_error(const char *text, const char *msg)
{
    struct pack_spec s;
    char err[PACK_ERR_MAX] = "";
    int r = load(text, NULL, &s, err);
    if (r != -1 || !strstr(err, msg))
        fail_msg("spec %s\n  expected error containing: %s\n  got (%d): %s", text, msg, r, err);
    pack_spec_free(&s);
}

static void test_good_spec_encodes_and_parses(void **state)
{
    (void)state;
    const char *text =
        BASE_HEAD ","
        "\"regions\":["
        "{\"name\":\"ro\",\"policy\":\"immutable\",\"data\":\"data.bin\",\"owner\":\"src\","
        "\"read\":[\"dst\",\"src\"]},"
        "{\"name\":\"slab\",\"policy\":\"slab\",\"slot_size\":64,\"slot_count\":8,"
        "\"owner\":\"src\",\"read\":[\"dst\"],\"write\":[\"src\"]},"
        "{\"name\":\"log\",\"policy\":\"append-only\",\"max_size\":4096,\"owner\":\"dst\"}],"
        "\"queues\":[{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":8,\"max_message\":128}],"
        "\"grants\":["
        "{\"component\":\"dst\",\"object\":\"queue:0\",\"rights\":[\"read\"]},"
        "{\"component\":\"src\",\"object\":\"queue:0\",\"rights\":[\"write\",\"grant\"]},"
        "{\"component\":\"dst\",\"object\":\"region:ro\",\"rights\":[\"read\"]},"
        "{\"component\":\"src\",\"object\":\"region:slab\",\"rights\":[\"write\",\"revoke\"]},"
        "{\"component\":\"dst\",\"object\":\"component:src\",\"rights\":[\"execute\"]}]}";
    struct pack_spec s;
    char err[PACK_ERR_MAX] = "";
    int r = load(text, NULL, &s, err);
    if (r != 0)
        fail_msg("%s", err);
    assert_int_equal(s.desc.ncomponents, 2);
    assert_int_equal(s.desc.nregions, 3);
    assert_int_equal(s.desc.nqueues, 1);
    assert_int_equal(s.desc.ngrants, 5);
    /* both components share one module: one WASM blob, one DATA blob */
    assert_int_equal(s.nblobs, 2);
    assert_memory_equal(s.comps[0].wasm_hash, s.comps[1].wasm_hash, RVF_HASH_LEN);
    assert_string_equal(s.queues[0].src_port, "out");
    assert_int_equal(s.queues[0].dst, 1);

    size_t need = 0;
    struct rvf_result res;
    assert_int_equal(rvf_manifest_encode(&s.desc, NULL, NULL, 0, &need, &res), RVF_E_NOSPACE);
    uint8_t *mf = malloc(need);
    assert_non_null(mf);
    assert_int_equal(rvf_manifest_encode(&s.desc, NULL, mf, need, &need, &res), RVF_OK);
    struct rvf_manifest m;
    assert_int_equal(rvf_manifest_parse(mf, need, NULL, 0, NULL, &m, &res), RVF_OK);
    assert_string_equal(m.name, "p");
    assert_int_equal(m.ngrants, 5);
    assert_int_equal(m.ntasks, 2);
    free(mf);
    pack_spec_free(&s);
}

static void test_structure_errors(void **state)
{
    (void)state;
    expect_error("[]", "spec.json: the top level must be a JSON object");
    expect_error(BASE_HEAD ",\"extra\":1}", "spec.json: extra: unknown key");
    expect_error("{\"version\":\"1\",\"components\":[]}", "spec.json: missing \"name\"");
    expect_error("{\"name\":\"p\",\"version\":\"1\"}", "spec.json: missing \"components\"");
    expect_error("{\"name\":7,\"version\":\"1\",\"components\":[]}",
                 "spec.json: name: expected a string");
    expect_error("{\"name\":\"a b\",\"version\":\"1\",\"components\":[]}",
                 "spec.json: name: \"a b\" has a character outside");
    expect_error("{\"name\":\".hidden\",\"version\":\"1\",\"components\":[]}",
                 "spec.json: name: \".hidden\" starts with '.'");
    expect_error("{\"name\":\"p\",\"version\":\"1\",\"components\":{}}",
                 "spec.json: components: expected an array");
    expect_error(BASE_HEAD ",\"queues\":[7]}", "spec.json: queues[0]: expected an object");
}

static void test_component_errors(void **state)
{
    (void)state;
#define ONE(c) "{\"name\":\"p\",\"version\":\"1\",\"components\":[" c "]}"
    expect_error(ONE("{\"name\":\"a\",\"wsam\":\"a.wasm\",\"entry\":[]}"),
                 "spec.json: components[0].wsam: unknown key");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"missing.wasm\",\"entry\":[]}"),
                 "spec.json: components[0].wasm: ");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"missing.wasm\",\"entry\":[]}"),
                 "missing.wasm: No such file or directory");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"bad.wasm\",\"entry\":[]}"),
                 "spec.json: components[0].wasm: bad.wasm: not a valid WASM module: ");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"data.bin\",\"entry\":[]}"),
                 "spec.json: components[0].wasm: data.bin: not a valid WASM module");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[\"run\",\"stop\"]}"),
                 "spec.json: components[0].entry[1]: a.wasm does not export a function \"stop\"");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[\"run\",\"run\"]}"),
                 "spec.json: components[0].entry[1]: entry point \"run\" listed twice");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[\"run\"],\"priority\":256}"),
                 "spec.json: components[0].priority: 256 is out of range [0, 255]");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[\"run\"],\"priority\":-1}"),
                 "spec.json: components[0].priority: -1 is out of range");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[\"run\"],\"priority\":1.5}"),
                 "spec.json: components[0].priority: expected an integer");
    expect_error(ONE("{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[]},"
                     "{\"name\":\"a\",\"wasm\":\"a.wasm\",\"entry\":[]}"),
                 "spec.json: components[1].name: duplicate component \"a\" (also components[0])");
    expect_error(ONE("{\"name\":\"a\",\"entry\":[]}"), "spec.json: components[0]: missing \"wasm\"");
#undef ONE
}

static void test_region_errors(void **state)
{
    (void)state;
#define REG(r) BASE_HEAD ",\"regions\":[" r "]}"
    expect_error(REG("{\"name\":\"r\",\"policy\":\"ring\",\"owner\":\"src\"}"),
                 "spec.json: regions[0].policy: unknown policy \"ring\"");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"slab\",\"owner\":\"src\",\"slot_size\":8,"
                     "\"slot_count\":2,\"max_size\":9}"),
                 "spec.json: regions[0].max_size: unknown key");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"slab\",\"owner\":\"nobody\",\"slot_size\":8,"
                     "\"slot_count\":2}"),
                 "spec.json: regions[0].owner: unknown component \"nobody\"");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"slab\",\"owner\":\"src\",\"slot_size\":8}"),
                 "spec.json: regions[0]: missing \"slot_count\"");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"slab\",\"owner\":\"src\",\"slot_size\":0,"
                     "\"slot_count\":2}"),
                 "spec.json: regions[0].slot_size: 0 is out of range");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"slab\",\"owner\":\"src\",\"slot_size\":1048576,"
                     "\"slot_count\":1048576}"),
                 "spec.json: regions[0].slot_count: slot_size x slot_count is over the region limit");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"append-only\",\"owner\":\"src\",\"max_size\":8,"
                     "\"read\":[\"src\",\"ghost\"]}"),
                 "spec.json: regions[0].read[1]: unknown component \"ghost\"");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"append-only\",\"owner\":\"src\",\"max_size\":8,"
                     "\"write\":[\"src\",\"src\"]}"),
                 "spec.json: regions[0].write[1]: component \"src\" listed twice");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"immutable\",\"owner\":\"src\","
                     "\"data\":\"data.bin\",\"write\":[\"src\"]}"),
                 "spec.json: regions[0].write: an immutable region cannot have writers");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"immutable\",\"owner\":\"src\","
                     "\"data\":\"nope.bin\"}"),
                 "spec.json: regions[0].data: ");
    expect_error(REG("{\"name\":\"r\",\"policy\":\"append-only\",\"owner\":\"src\",\"max_size\":8},"
                     "{\"name\":\"r\",\"policy\":\"append-only\",\"owner\":\"src\",\"max_size\":8}"),
                 "spec.json: regions[1].name: duplicate region \"r\"");
#undef REG
}

static void test_queue_errors(void **state)
{
    (void)state;
#define Q(q) BASE_HEAD ",\"queues\":[" q "]}"
#define GOODQ "{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":8,\"max_message\":64}"
    expect_error(Q(GOODQ ",{\"from\":\"src.out\",\"to\":\"sink.in\",\"capacity\":8,"
                         "\"max_message\":64}"),
                 "spec.json: queues[1].to: unknown component \"sink\"");
    expect_error(Q("{\"from\":\"src\",\"to\":\"dst.in\",\"capacity\":8,\"max_message\":64}"),
                 "spec.json: queues[0].from: \"src\" is not COMPONENT.PORT");
    expect_error(Q("{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":48,\"max_message\":64}"),
                 "spec.json: queues[0].capacity: 48 is not a power of two");
    expect_error(Q("{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":0,\"max_message\":64}"),
                 "spec.json: queues[0].capacity: 0 is out of range");
    expect_error(Q("{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":\"8\",\"max_message\":64}"),
                 "spec.json: queues[0].capacity: expected an integer");
    expect_error(Q("{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":8}"),
                 "spec.json: queues[0]: missing \"max_message\"");
    expect_error(Q("{\"from\":\"src.out\",\"to\":\"dst.in\",\"capacity\":65536,"
                   "\"max_message\":65536}"),
                 "spec.json: queues[0]: capacity x max_message");
    expect_error(Q("{\"from\":\"src.o!t\",\"to\":\"dst.in\",\"capacity\":8,\"max_message\":64}"),
                 "spec.json: queues[0].from: \"o!t\" has a character outside");
#undef Q
}

static void test_grant_errors(void **state)
{
    (void)state;
#define G(g) BASE_HEAD ",\"regions\":[{\"name\":\"r\",\"policy\":\"append-only\",\"owner\":\"src\"," \
             "\"max_size\":64,\"read\":[\"dst\"],\"write\":[\"src\"]}],\"queues\":[" GOODQ       \
             "],\"grants\":[" g "]}"
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[\"write\"]}"),
                 "spec.json: grants[0].rights: \"write\" on region:r is wider than the "
                 "manifest allows \"dst\"");
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[\"grant\"]}"),
                 "spec.json: grants[0].rights: \"grant\" on region:r is wider");
    expect_error(G("{\"component\":\"dst\",\"object\":\"queue:0\",\"rights\":[\"write\"]}"),
                 "spec.json: grants[0].rights: \"write\" on queue:0 is wider");
    expect_error(G("{\"component\":\"src\",\"object\":\"component:dst\",\"rights\":[\"write\"]}"),
                 "spec.json: grants[0].rights: \"write\" on component:dst is wider");
    expect_error(G("{\"component\":\"dst\",\"object\":\"queue:1\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[0].object: no queue 1");
    expect_error(G("{\"component\":\"dst\",\"object\":\"queue:01\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[0].object: \"queue:01\": a queue is named by its index");
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:zz\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[0].object: unknown region \"zz\"");
    expect_error(G("{\"component\":\"dst\",\"object\":\"file:r\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[0].object: unknown object kind \"file\"");
    expect_error(G("{\"component\":\"dst\",\"object\":\"r\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[0].object: \"r\" is not region:NAME");
    expect_error(G("{\"component\":\"ghost\",\"object\":\"region:r\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[0].component: unknown component \"ghost\"");
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[\"READ\"]}"),
                 "spec.json: grants[0].rights[0]: unknown right \"READ\"");
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[]}"),
                 "spec.json: grants[0].rights: no rights listed");
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[\"read\",\"read\"]}"),
                 "spec.json: grants[0].rights[1]: right \"read\" listed twice");
    expect_error(G("{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[\"read\"]},"
                   "{\"component\":\"dst\",\"object\":\"region:r\",\"rights\":[\"read\"]}"),
                 "spec.json: grants[1]: a second grant of region:r to \"dst\" (also grants[0])");
#undef G
}

static void test_limits(void **state)
{
    (void)state;
    struct rvf_limits lim;
    rvf_limits_default(&lim);
    lim.max_components = 1;
    struct pack_spec s;
    char err[PACK_ERR_MAX] = "";
    assert_int_equal(load(BASE_HEAD "}", &lim, &s, err), -1);
    assert_non_null(strstr(err, "spec.json: components: 2 entries, at most 1 allowed"));
    pack_spec_free(&s);
    rvf_limits_default(&lim);
    lim.max_tasks = 1;
    assert_int_equal(load(BASE_HEAD "}", &lim, &s, err), -1);
    assert_non_null(strstr(err, "spec.json: components[1].entry: more than 1 entry points"));
    pack_spec_free(&s);
}

static void test_file_errors(void **state)
{
    (void)state;
    char path[128], err[PACK_ERR_MAX];
    struct pack_spec s;
    snprintf(path, sizeof path, "%s/dup.json", dir);
    put_str("dup.json", "{\"name\":\"a\",\n\"name\":\"b\"}");
    assert_int_equal(pack_spec_load(path, NULL, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "dup.json:2:"));
    assert_non_null(strstr(err, "duplicate object key"));
    pack_spec_free(&s);
    put_str("syntax.json", "{\"name\":");
    snprintf(path, sizeof path, "%s/syntax.json", dir);
    assert_int_equal(pack_spec_load(path, NULL, &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "syntax.json:1:"));
    pack_spec_free(&s);
    /* Relative paths resolve against the spec's own directory. */
    put_str("ok.json", "{\"name\":\"a\",\"version\":\"1\",\"components\":[{\"name\":\"c\","
                       "\"wasm\":\"a.wasm\",\"entry\":[\"run\"]}]}");
    snprintf(path, sizeof path, "%s/ok.json", dir);
    if (pack_spec_load(path, NULL, &s, err, sizeof err) != 0)
        fail_msg("%s", err);
    pack_spec_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_spec_encodes_and_parses),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_component_errors),
        cmocka_unit_test(test_region_errors),
        cmocka_unit_test(test_queue_errors),
        cmocka_unit_test(test_grant_errors),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_file_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
