/* test_client.c — the BossDB client against the BossDB-compatible server, started
 * in this process on a random loopback port over an in-memory volume whose voxels
 * are a known function of their coordinates. Checks metadata, cutouts (whole and
 * split into intern-aligned blocks, uint8 and uint64), retries with injected faults
 * (5xx, truncated and wrong-size bodies: retried, then reported), 4xx answered at
 * once with the server's message and the URL, tokens, and that no more than
 * max_parallel transfers are in flight at once (counted by the server). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/bossdb.h"

/* ---- the in-memory volume ---- */

static const mtn_volume_channel channels[] = {
    {"test", "exp", "img", MTN_DTYPE_UINT8, false},
    {"test", "exp", "lab", MTN_DTYPE_UINT64, true},
};

static uint64_t voxel(int ch, int res, int64_t z, int64_t y, int64_t x) {
    if (ch == 0) return (uint64_t)(x + 3 * y + 7 * z + 11 * res) & 0xff;
    return (uint64_t)x * 1000003u + (uint64_t)y * 1009u + (uint64_t)z + ((uint64_t)res << 40);
}

static int memory_read(mtn_volume *v, int ch, int res, const mtn_box *b, void *dst) {
    (void)v;
    size_t i = 0;
    for (int64_t z = b->z0; z < b->z1; z++)
        for (int64_t y = b->y0; y < b->y1; y++)
            for (int64_t x = b->x0; x < b->x1; x++, i++) {
                uint64_t val = voxel(ch, res, z, y, x);
                if (ch == 0) ((uint8_t *)dst)[i] = (uint8_t)val;
                else ((uint64_t *)dst)[i] = val;
            }
    return MTN_OK;
}

static mtn_volume memory_volume = {
    .description = "memory", .n_channels = 2, .channels = channels, .coord_frame = "test_frame",
    .extent = {1000, 600, 50}, .voxel_size = {1.17, 1.17, 1.17}, .voxel_unit = "micrometers", .levels = 3,
    .read = memory_read, .free = NULL, .impl = NULL};

/* ---- a server per test, with the given faults ---- */

static mtn_server *server;
static char base_url[64];
static FILE *access_log;

static void serve(const mtn_server_options *faults) {
    mtn_server_options o;
    if (faults) o = *faults;
    else mtn_server_default_options(&o);
    o.port = 0;
    access_log = mtn_test_capture_open();
    o.access_log = access_log;
    int rc = mtn_server_start(&memory_volume, &o, &server);
    if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    snprintf(base_url, sizeof base_url, "http://127.0.0.1:%d", mtn_server_port(server));
}

static void stop_server(void) {
    if (server) mtn_server_stop(server);
    server = NULL;
}

/* Access-log lines containing needle. A line is written when its connection
 * completes, which may be after the client has read the response, so the
 * server is stopped first (that completes every connection). */
static int access_lines(const char *needle) {
    stop_server();
    char *text = mtn_test_capture_text(access_log);
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++) n++;
    free(text);
    return n;
}

static void unserve(void) {
    stop_server();
    fclose(access_log);
}

static mtn_bossdb_client *client(const char *token, int retries) {
    mtn_bossdb_options o;
    mtn_bossdb_default_options(&o);
    o.max_retries = retries;
    o.backoff_base_s = 0.01;
    o.backoff_max_s = 0.05;
    o.block[0] = 64; /* small blocks, so the tests split */
    o.block[1] = 64;
    o.block[2] = 4;
    mtn_bossdb_client *c = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_bossdb_client_create(base_url, token, &o, &c), 0);
    return c;
}

static mtn_cutout_request request(int ch, int res, mtn_box box, void *dst) {
    mtn_cutout_request r;
    memset(&r, 0, sizeof r);
    mtn_bossdb_parse_uri(ch == 0 ? "bossdb://test/exp/img" : "bossdb://test/exp/lab", &r.uri);
    r.dtype = channels[ch].dtype;
    r.res = res;
    r.box = box;
    r.dst = dst;
    return r;
}

/* Every voxel of dst equals the volume's value. */
static bool matches(int ch, int res, const mtn_box *b, const void *dst) {
    size_t i = 0;
    for (int64_t z = b->z0; z < b->z1; z++)
        for (int64_t y = b->y0; y < b->y1; y++)
            for (int64_t x = b->x0; x < b->x1; x++, i++) {
                uint64_t got = ch == 0 ? ((const uint8_t *)dst)[i] : ((const uint64_t *)dst)[i];
                if (got != voxel(ch, res, z, y, x)) return false;
            }
    return true;
}

/* ---- tests ---- */

static void test_metadata(void) {
    serve(NULL);
    mtn_bossdb_client *c = client("public", 0);
    mtn_bossdb_uri u;
    mtn_bossdb_parse_uri("bossdb://test/exp/lab", &u);
    mtn_bossdb_channel ch;
    CU_ASSERT_EQUAL(mtn_bossdb_get_channel(c, &u, &ch), 0);
    CU_ASSERT_STRING_EQUAL(ch.name, "lab");
    CU_ASSERT_EQUAL(ch.dtype, MTN_DTYPE_UINT64);
    CU_ASSERT(ch.annotation);
    mtn_bossdb_experiment e;
    CU_ASSERT_EQUAL(mtn_bossdb_get_experiment(c, "test", "exp", &e), 0);
    CU_ASSERT_STRING_EQUAL(e.coord_frame, "test_frame");
    CU_ASSERT_EQUAL(e.num_hierarchy_levels, 3);
    mtn_bossdb_coord_frame f;
    CU_ASSERT_EQUAL(mtn_bossdb_get_coord_frame(c, "test_frame", &f), 0);
    CU_ASSERT_EQUAL(f.x_stop, 1000);
    CU_ASSERT_EQUAL(f.y_stop, 600);
    CU_ASSERT_EQUAL(f.z_stop, 50);
    CU_ASSERT_DOUBLE_EQUAL(f.z_voxel_size, 1.17, 1e-12);
    char exps[256];
    CU_ASSERT_EQUAL(mtn_bossdb_get_collection(c, "test", exps, sizeof exps), 0);
    CU_ASSERT_STRING_EQUAL(exps, "exp");
    /* unknown names: 404 at once, with the server's message and the URL */
    mtn_bossdb_parse_uri("bossdb://test/exp/nope", &u);
    CU_ASSERT_EQUAL(mtn_bossdb_get_channel(c, &u, &ch), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "HTTP 404"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "/v1/collection/test/experiment/exp/channel/nope/"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "4000"));
    mtn_bossdb_client_free(c);
    unserve();
}

static void test_cutouts_whole_and_split(void) {
    serve(NULL);
    mtn_bossdb_client *c = client("public", 0);
    /* 150 x 100 x 10 voxels in 64 x 64 x 4 blocks aligned at multiples: 3 x 3 x 4 pieces */
    mtn_box big = {100, 250, 30, 130, 3, 13};
    size_t n = 150 * 100 * 10;
    uint8_t *img = malloc(n);
    uint64_t *lab = malloc(n * 8);
    mtn_cutout_request reqs[2] = {request(0, 0, big, img), request(1, 0, big, lab)};
    mtn_fetch_stats st;
    memset(&st, 0, sizeof st);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, reqs, 2, &st), 0);
    CU_ASSERT(matches(0, 0, &big, img));
    CU_ASSERT(matches(1, 0, &big, lab));
    CU_ASSERT_EQUAL(st.requests, 2 * 3 * 3 * 4); /* x: 100-128-192-250, y: 30-64-128-130, z: 3-4-8-12-13 */
    CU_ASSERT_EQUAL(st.retries, 0);
    CU_ASSERT_EQUAL(st.bytes_decoded, (int64_t)(n * 9));
    /* a box at most 1.2 blocks is one request, unaligned */
    mtn_box small = {10, 80, 5, 60, 1, 4};
    memset(&st, 0, sizeof st);
    reqs[0] = request(0, 1, small, img);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, reqs, 1, &st), 0);
    CU_ASSERT_EQUAL(st.requests, 1);
    CU_ASSERT(matches(0, 1, &small, img));
    CU_ASSERT_EQUAL(access_lines("/v1/cutout/test/exp/img/0/128:192/64:128/4:8/"), 1); /* an interior block */
    free(img);
    free(lab);
    mtn_bossdb_client_free(c);
    unserve();
}

static void test_retries(void) {
    mtn_box box = {0, 40, 0, 30, 0, 2};
    uint64_t lab[40 * 30 * 2];
    const char *kinds[] = {"5xx", "truncated", "wrong-size"};
    for (int k = 0; k < 3; k++) {
        mtn_server_options o;
        mtn_server_default_options(&o);
        if (k == 0) o.fault_5xx_first = 2;
        if (k == 1) o.fault_truncate_first = 2;
        if (k == 2) o.fault_wrongsize_first = 2;
        serve(&o);
        /* two faults, three retries allowed: the third attempt succeeds */
        mtn_bossdb_client *c = client("public", 3);
        mtn_cutout_request r = request(1, 0, box, lab);
        mtn_fetch_stats st;
        memset(&st, 0, sizeof st);
        int rc = mtn_bossdb_fetch(c, &r, 1, &st);
        if (rc) fprintf(stderr, "\n%s: %s\n", kinds[k], mtn_error_message());
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT_EQUAL(st.retries, 2);
        CU_ASSERT(matches(1, 0, &box, lab));
        mtn_bossdb_client_free(c);
        /* one retry only: reported after 2 attempts, naming the URL and the cause */
        c = client("public", 1);
        mtn_box other = {40, 80, 0, 30, 0, 2}; /* a fresh URL: its first attempts fail */
        r = request(1, 0, other, lab);
        CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, NULL), MTN_EDATA);
        const char *m = mtn_error_message();
        CU_ASSERT_PTR_NOT_NULL(strstr(m, "failed after 2 attempts"));
        CU_ASSERT_PTR_NOT_NULL(strstr(m, "/v1/cutout/test/exp/lab/0/40:80/0:30/0:2/"));
        if (k == 0) CU_ASSERT_PTR_NOT_NULL(strstr(m, "HTTP 503"));
        mtn_bossdb_client_free(c);
        unserve();
    }
}

static void test_client_errors_are_not_retried(void) {
    serve(NULL);
    mtn_bossdb_client *c = client("public", 5);
    uint8_t buf[64];
    mtn_fetch_stats st;
    memset(&st, 0, sizeof st);
    /* outside the frame: 400 / 1001 */
    mtn_cutout_request r = request(0, 0, (mtn_box){990, 1010, 0, 1, 0, 1}, buf);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, &st), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "HTTP 400"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "1001"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "990:1010"));
    /* resolution beyond the hierarchy: 400 / 1002 */
    r = request(0, 7, (mtn_box){0, 4, 0, 4, 0, 1}, buf);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, &st), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "1002"));
    /* unknown channel: 404 / 4000 */
    r = request(0, 0, (mtn_box){0, 4, 0, 4, 0, 1}, buf);
    mtn_bossdb_parse_uri("bossdb://test/exp/missing", &r.uri);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, &st), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "HTTP 404"));
    CU_ASSERT_EQUAL(st.retries, 0);
    CU_ASSERT_EQUAL(access_lines("/v1/cutout/"), 3); /* one attempt each */
    mtn_bossdb_client_free(c);
    unserve();
}

static void test_tokens(void) {
    mtn_server_options o;
    mtn_server_default_options(&o);
    o.token = "s3cret";
    serve(&o);
    uint8_t buf[16];
    mtn_cutout_request r = request(0, 0, (mtn_box){0, 4, 0, 4, 0, 1}, buf);
    mtn_bossdb_client *c = client("wrong", 3);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, NULL), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "HTTP 401"));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "MTN_BOSSDB_TOKEN"));
    mtn_bossdb_client_free(c);
    c = client("public", 3);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, NULL), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "HTTP 403"));
    mtn_bossdb_client_free(c);
    c = client("s3cret", 0);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, NULL), 0);
    CU_ASSERT(matches(0, 0, &r.box, buf));
    mtn_bossdb_client_free(c);
    unserve();
}

/* Bounded parallelism, seen from the server: every cutout is delayed so transfers
 * overlap, and the server has more worker threads than the client's bound, so an
 * unbounded client would show more requests in flight at once than max_parallel. */
static void test_many_concurrent_blocks(void) {
    enum { MAX_PARALLEL = 8 };
    mtn_server_options so;
    mtn_server_default_options(&so);
    so.threads = 4 * MAX_PARALLEL;
    so.fault_delay_ms = 20;
    serve(&so);
    mtn_bossdb_options o;
    mtn_bossdb_default_options(&o);
    o.max_parallel = MAX_PARALLEL;
    o.block[0] = 32;
    o.block[1] = 32;
    o.block[2] = 2;
    mtn_bossdb_client *c = NULL;
    CU_ASSERT_EQUAL_FATAL(mtn_bossdb_client_create(base_url, NULL, &o, &c), 0);
    mtn_box box = {0, 256, 0, 256, 0, 8}; /* 8 x 8 x 4 = 256 blocks */
    uint8_t *img = malloc(256 * 256 * 8);
    mtn_cutout_request r = request(0, 0, box, img);
    mtn_fetch_stats st;
    memset(&st, 0, sizeof st);
    CU_ASSERT_EQUAL(mtn_bossdb_fetch(c, &r, 1, &st), 0);
    CU_ASSERT_EQUAL(st.requests, 256);
    CU_ASSERT(matches(0, 0, &box, img));
    mtn_server_stats ss;
    mtn_server_get_stats(server, &ss);
    fprintf(stderr, "\n  server: %lld requests, at most %d in flight at once (client max_parallel %d)\n",
            (long long)ss.requests, ss.max_in_flight, MAX_PARALLEL);
    CU_ASSERT(ss.requests >= 256);
    CU_ASSERT(ss.max_in_flight <= MAX_PARALLEL);
    CU_ASSERT(ss.max_in_flight > 1);
    free(img);
    mtn_bossdb_client_free(c);
    unserve();
}

static const mtn_test_case tests[] = {
    {"metadata: channel, experiment, frame, collection; 404", test_metadata},
    {"cutouts whole and split into aligned blocks", test_cutouts_whole_and_split},
    {"5xx, truncated and wrong-size bodies: retried, then reported", test_retries},
    {"400 and 404 are not retried", test_client_errors_are_not_retried},
    {"tokens: 401, 403, accepted", test_tokens},
    {"256 blocks through 8 parallel transfers", test_many_concurrent_blocks},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"bossdb client", tests}, {NULL, NULL}};
