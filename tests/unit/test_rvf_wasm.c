/* WASM structure validator catalog: magic, version, section ids and
 * order, LEB128 sizes (overlong, oversize, truncated), sections past the
 * end, export entries, limits; plus a module built by wat2wasm when the
 * build provides one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rvf.h"
#include "rvf_build.h"

static enum rvf_status validate(const uint8_t *b, size_t n, struct rvf_result *res)
{
    /* Private exact-size copy: ASan flags any read past the end. */
    uint8_t *c = malloc(n ? n : 1);
    assert_non_null(c);
    memcpy(c, b, n);
    struct rvf_wasm_info info;
    enum rvf_status st = rvf_wasm_validate(c, n, NULL, &info, res);
    free(c);
    return st;
}

#define MOD(...) ((const uint8_t[]){0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, __VA_ARGS__})
#define MODLEN(...) (8 + sizeof((const uint8_t[]){__VA_ARGS__}))
#define EXPECT(want, text, ...)                                                 \
    do {                                                                        \
        struct rvf_result r_;                                                   \
        enum rvf_status s_ = validate(MOD(__VA_ARGS__), MODLEN(__VA_ARGS__), &r_); \
        if (s_ != (want))                                                       \
            fail_msg("line %d: got %s (%s), want %s", __LINE__,                 \
                     rvf_strerror(s_), r_.msg, rvf_strerror(want));             \
        if (!strstr(r_.msg, (text)))                                            \
            fail_msg("line %d: message \"%s\" lacks \"%s\"", __LINE__, r_.msg,  \
                     (text));                                                   \
    } while (0)

static void test_sample(void **state)
{
    (void)state;
    uint8_t w[64];
    size_t n = sample_wasm(w, "run");
    struct rvf_wasm_info info;
    struct rvf_result res;
    assert_int_equal(rvf_wasm_validate(w, n, NULL, &info, &res), RVF_OK);
    assert_int_equal(info.nsections, 4);
    assert_int_equal(info.nfunc_exports, 1);
    assert_int_equal(info.section_mask, (1u << 1) | (1u << 3) | (1u << 7) | (1u << 10));
    assert_true(rvf_wasm_has_export(w, n, "run", RVF_WASM_EXPORT_FUNC));
    assert_false(rvf_wasm_has_export(w, n, "ru", RVF_WASM_EXPORT_FUNC));
    assert_false(rvf_wasm_has_export(w, n, "runs", RVF_WASM_EXPORT_FUNC));
    assert_false(rvf_wasm_has_export(w, n, "run", 2));
    /* Header only: an empty module is valid. */
    assert_int_equal(validate(w, 8, &res), RVF_OK);
}

static void test_header(void **state)
{
    (void)state;
    struct rvf_result res;
    static const uint8_t bad_magic[] = {0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0};
    static const uint8_t elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    static const uint8_t v2[] = {0x00, 0x61, 0x73, 0x6d, 2, 0, 0, 0};
    static const uint8_t v1big[] = {0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 1};
    static const uint8_t component[] = {0x00, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0};
    assert_int_equal(validate(bad_magic, 8, &res), RVF_E_MAGIC);
    assert_int_equal(validate(elf, 8, &res), RVF_E_MAGIC);
    assert_int_equal(validate(v2, 8, &res), RVF_E_VERSION);
    assert_int_equal(validate(v1big, 8, &res), RVF_E_VERSION);
    assert_int_equal(validate(component, 8, &res), RVF_E_VERSION);
    for (size_t n = 0; n < 8; n++)
        assert_int_equal(validate(v2, n, &res), RVF_E_TRUNCATED);
    assert_int_equal(validate(bad_magic, 6, &res), RVF_E_MAGIC);
    assert_int_equal(rvf_wasm_validate(NULL, 5, NULL, NULL, &res), RVF_E_INVAL);
}

static void test_order(void **state)
{
    (void)state;
    /* Empty non-custom sections are structurally fine for this walk. */
    EXPECT(RVF_OK, "", 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 1, 0, 8, 1, 0,
           9, 0, 12, 0, 10, 0, 11, 0);
    EXPECT(RVF_OK, "", 0, 1, 0, 1, 0, 0, 2, 1, 'x', 10, 0, 0, 3, 2, 'a', 'b', 11, 0);
    EXPECT(RVF_E_WASM, "section 3 out of order after section 10", 10, 0, 3, 0);
    EXPECT(RVF_E_WASM, "section 1 appears twice", 1, 0, 1, 0);
    EXPECT(RVF_E_WASM, "section 12 out of order after section 10", 10, 0, 12, 0);
    EXPECT(RVF_E_WASM, "section 9 out of order after section 12", 12, 0, 9, 0);
    EXPECT(RVF_E_WASM, "unknown section id 13", 13, 0);
    EXPECT(RVF_E_WASM, "unknown section id 255", 0xff, 0);
    EXPECT(RVF_E_WASM, "custom section name", 0, 2, 5, 'a');
    EXPECT(RVF_E_WASM, "custom section name", 0, 0);
}

static void test_leb(void **state)
{
    (void)state;
    /* Non-minimal but at most 5 bytes: allowed by the spec. */
    EXPECT(RVF_OK, "", 1, 0x80, 0x80, 0x80, 0x80, 0x00);
    EXPECT(RVF_OK, "", 1, 0x81, 0x00, 0xAA);
    EXPECT(RVF_E_WASM, "LEB128 longer than 5 bytes", 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
    EXPECT(RVF_E_WASM, "over 32 bits", 1, 0xff, 0xff, 0xff, 0xff, 0x1f);
    EXPECT(RVF_E_WASM, "over 32 bits", 1, 0x80, 0x80, 0x80, 0x80, 0x10);
    EXPECT(RVF_E_TRUNCATED, "LEB128 runs past the end", 1, 0x80, 0x80);
    EXPECT(RVF_E_TRUNCATED, "LEB128 runs past the end", 1);
    /* 0xFFFFFFFF is a valid u32 size, but far past the end. */
    EXPECT(RVF_E_TRUNCATED, "runs past the end of the module", 1, 0xff, 0xff, 0xff, 0xff, 0x0f);
    EXPECT(RVF_E_TRUNCATED, "section 10 of 5 bytes", 10, 5, 0, 0, 0, 0);
    EXPECT(RVF_E_TRUNCATED, "section 5 of 1 bytes", 1, 0, 3, 1, 0, 5, 1);
}

static void test_exports(void **state)
{
    (void)state;
    EXPECT(RVF_OK, "", 7, 5, 1, 1, 'f', 0, 0);
    EXPECT(RVF_E_WASM, "export name length: LEB128 runs past the end of its section", 7, 5, 2, 1, 'f', 0, 0);
    EXPECT(RVF_E_WASM, "bytes after its last entry", 7, 6, 1, 1, 'f', 0, 0, 0);
    EXPECT(RVF_E_WASM, "unknown export kind", 7, 5, 1, 1, 'f', 9, 0);
    EXPECT(RVF_E_WASM, "export name runs past", 7, 5, 1, 9, 'f', 0, 0);
    EXPECT(RVF_E_WASM, "export kind", 7, 3, 1, 1, 'f');
    EXPECT(RVF_E_WASM, "export index", 7, 9, 1, 1, 'f', 0, 0x80, 0x80, 0x80, 0x80, 0x80);
    EXPECT(RVF_E_WASM, "export count", 7, 6, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01);
}

static void test_limits(void **state)
{
    (void)state;
    uint8_t w[64];
    size_t n = sample_wasm(w, "run");
    struct rvf_limits lim;
    struct rvf_result res;
    rvf_limits_default(&lim);
    lim.max_wasm_sections = 3;
    assert_int_equal(rvf_wasm_validate(w, n, &lim, NULL, &res), RVF_E_LIMIT);
    lim.max_wasm_sections = 4;
    assert_int_equal(rvf_wasm_validate(w, n, &lim, NULL, &res), RVF_OK);
    lim.max_wasm_exports = 0;
    assert_int_equal(rvf_wasm_validate(w, n, &lim, NULL, &res), RVF_E_LIMIT);

    /* A module of 3000 empty custom sections: refused by count, not walked. */
    size_t big = 8 + 3000 * 3;
    uint8_t *m = malloc(big);
    memcpy(m, w, 8);
    for (size_t i = 0; i < 3000; i++) {
        m[8 + 3 * i] = 0;
        m[9 + 3 * i] = 1;
        m[10 + 3 * i] = 0;
    }
    assert_int_equal(rvf_wasm_validate(m, big, NULL, NULL, &res), RVF_E_LIMIT);
    assert_non_null(strstr(res.msg, "more sections than the limit 1024"));
    free(m);
}

/* Every prefix: OK exactly at section boundaries, truncated elsewhere. */
static void test_truncate_everywhere(void **state)
{
    (void)state;
    uint8_t w[64];
    size_t n = sample_wasm(w, "main");
    struct rvf_result res;
    const size_t ends[] = {8, 14, 18, n - 6, n};
    for (size_t cut = 0; cut <= n; cut++) {
        bool boundary = false;
        for (int k = 0; k < 5; k++)
            boundary |= cut == ends[k];
        enum rvf_status st = validate(w, cut, &res);
        assert_int_equal(st, boundary ? RVF_OK : RVF_E_TRUNCATED);
    }
    /* And every byte flipped: never a crash. */
    for (size_t i = 0; i < n; i++) {
        w[i] ^= 0xFF;
        (void)validate(w, n, &res);
        w[i] ^= 0xFF;
    }
}

/* A real module from wat2wasm (path passed by CMake when wabt exists). */
static void test_wat2wasm(void **state)
{
    (void)state;
#ifdef RVF_TEST_WASM
    FILE *f = fopen(RVF_TEST_WASM, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    struct rvf_wasm_info info;
    struct rvf_result res;
    assert_int_equal(rvf_wasm_validate(buf, n, NULL, &info, &res), RVF_OK);
    assert_int_equal(info.nfunc_exports, 2);
    assert_true(rvf_wasm_has_export(buf, n, "run", RVF_WASM_EXPORT_FUNC));
    assert_true(rvf_wasm_has_export(buf, n, "tick", RVF_WASM_EXPORT_FUNC));
    assert_true(rvf_wasm_has_export(buf, n, "mem", 2));
    assert_false(rvf_wasm_has_export(buf, n, "mem", RVF_WASM_EXPORT_FUNC));
    assert_true(info.section_mask & (1u << 12)); /* datacount */
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_leb),
        cmocka_unit_test(test_exports),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_truncate_everywhere),
        cmocka_unit_test(test_wat2wasm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
