/* test_bossdb_names.c — bossdb:// URIs (good and bad), dtypes, and where the token
 * comes from: MTN_BOSSDB_TOKEN, intern's INTERN_TOKEN and ~/.intern/intern.cfg
 * ([Volume Service] before [Default]), else "public"; malformed files and tokens
 * that cannot go into a header are errors that name the file. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "mtn/bossdb.h"

static void test_uris(void) {
    mtn_bossdb_uri u;
    CU_ASSERT_EQUAL_FATAL(mtn_bossdb_parse_uri("bossdb://prasad/prasad_analysis/pixel_labels", &u), 0);
    CU_ASSERT_STRING_EQUAL(u.collection, "prasad");
    CU_ASSERT_STRING_EQUAL(u.experiment, "prasad_analysis");
    CU_ASSERT_STRING_EQUAL(u.channel, "pixel_labels");
    static const char *bad[] = {"http://prasad/a/b", "bossdb://prasad/image", "bossdb://a/b/c/d", "bossdb://a//c",
                                "bossdb://a/b/c d", "bossdb://a/b/", "bossdb:///b/c", "", "bossdb://a/b/c?x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(mtn_bossdb_parse_uri(bad[i], &u), MTN_EDATA);
        CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "bossdb://"));
    }
    char longname[300] = "bossdb://";
    memset(longname + 9, 'a', 200);
    strcpy(longname + 209, "/b/c");
    CU_ASSERT_EQUAL(mtn_bossdb_parse_uri(longname, &u), MTN_EDATA);
}

static void test_dtypes(void) {
    mtn_dtype t;
    CU_ASSERT_EQUAL(mtn_dtype_parse("uint64", &t), 0);
    CU_ASSERT_EQUAL(t, MTN_DTYPE_UINT64);
    CU_ASSERT_EQUAL(mtn_dtype_size(t), 8);
    CU_ASSERT_EQUAL(mtn_dtype_parse("uint8", &t), 0);
    CU_ASSERT_EQUAL(mtn_dtype_size(t), 1);
    CU_ASSERT_EQUAL(mtn_dtype_parse("uint32", &t), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "uint32"));
    CU_ASSERT_STRING_EQUAL(mtn_dtype_name(MTN_DTYPE_UINT16), "uint16");
}

static void write_cfg(const char *home, const char *text) {
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/.intern", home);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/intern.cfg", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_token_sources(void) {
    char token[256], from[700];
    const char *home = mtn_test_tmpdir();
    setenv("HOME", home, 1);
    unsetenv("MTN_BOSSDB_TOKEN");
    unsetenv("INTERN_TOKEN");
    /* nothing configured */
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, from, sizeof from), 0);
    CU_ASSERT_STRING_EQUAL(token, "public");
    /* intern.cfg: [Volume Service] wins over [Default] */
    write_cfg(home, "# comment\n[Default]\nprotocol = https\nhost = api.bossdb.io\ntoken = abc123\n");
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, from, sizeof from), 0);
    CU_ASSERT_STRING_EQUAL(token, "abc123");
    CU_ASSERT_PTR_NOT_NULL(strstr(from, ".intern/intern.cfg"));
    write_cfg(home, "[Default]\ntoken = abc123\n\n[Volume Service]\ntoken: vol456\n");
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(token, "vol456");
    /* environment variables win, MTN_BOSSDB_TOKEN first */
    setenv("INTERN_TOKEN", "intern789", 1);
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, from, sizeof from), 0);
    CU_ASSERT_STRING_EQUAL(token, "intern789");
    setenv("MTN_BOSSDB_TOKEN", "mtn000", 1);
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, from, sizeof from), 0);
    CU_ASSERT_STRING_EQUAL(token, "mtn000");
    CU_ASSERT_STRING_EQUAL(from, "environment variable MTN_BOSSDB_TOKEN");
    /* a token that cannot go into an HTTP header */
    setenv("MTN_BOSSDB_TOKEN", "bad token\r\nX-Evil: 1", 1);
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, NULL, 0), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "MTN_BOSSDB_TOKEN"));
    unsetenv("MTN_BOSSDB_TOKEN");
    unsetenv("INTERN_TOKEN");
    /* malformed intern.cfg: the error names the file and line */
    write_cfg(home, "[Default]\nthis line has no separator\n");
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, NULL, 0), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "intern.cfg:2: expected key = value"));
    write_cfg(home, "[Default\ntoken = x\n");
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, NULL, 0), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "intern.cfg:1: expected a section header"));
    write_cfg(home, "[Default]\ntoken = has space\n");
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, NULL, 0), MTN_EDATA);
    write_cfg(home, "[Default]\nhost = x\n"); /* no token at all: public */
    CU_ASSERT_EQUAL(mtn_bossdb_token(token, sizeof token, NULL, 0), 0);
    CU_ASSERT_STRING_EQUAL(token, "public");
}

static void test_client_rejects_bad_sources(void) {
    mtn_bossdb_client *c = NULL;
    CU_ASSERT_EQUAL(mtn_bossdb_client_create("ftp://example.org", "public", NULL, &c), MTN_EUSAGE);
    CU_ASSERT_PTR_NULL(c);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "ftp://example.org"));
    CU_ASSERT_EQUAL(mtn_bossdb_client_create("api.bossdb.io", "public", NULL, &c), MTN_EUSAGE);
    mtn_bossdb_client_free(NULL);
}

/* Nothing listens on this port: a fast, clear "cannot reach" that names --source phantom. */
static void test_unreachable_source(void) {
    mtn_bossdb_options o;
    mtn_bossdb_default_options(&o);
    o.max_retries = 2;
    o.backoff_base_s = 0.01;
    mtn_bossdb_client *c = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_bossdb_client_create("http://127.0.0.1:9", "public", &o, &c), 0);
    mtn_bossdb_uri u;
    mtn_bossdb_parse_uri("bossdb://prasad/prasad2020/image", &u);
    mtn_bossdb_channel ch;
    CU_ASSERT_EQUAL(mtn_bossdb_get_channel(c, &u, &ch), MTN_EDATA);
    const char *m = mtn_error_message();
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "cannot reach http://127.0.0.1:9 after 3 attempts"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "--source phantom"));
    CU_ASSERT_PTR_NOT_NULL(strstr(m, "/v1/collection/prasad/experiment/prasad2020/channel/image/"));
    mtn_bossdb_client_free(c);
}

static const mtn_test_case tests[] = {
    {"bossdb:// URIs, good and bad", test_uris},
    {"channel dtypes", test_dtypes},
    {"token: environment, intern.cfg, public; broken files", test_token_sources},
    {"client refuses non-HTTP sources", test_client_rejects_bad_sources},
    {"unreachable source: clear error naming --source phantom", test_unreachable_source},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"bossdb names and tokens", tests}, {NULL, NULL}};
