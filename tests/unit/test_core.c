/* test_core.c — status codes and messages, exit codes, checked products, rank-aware
 * logging, the progress reporter (both modes, with a fake clock) and "did you mean". */
#include <string.h>

#include "harness.h"
#include "mtn/core.h"

static void test_status_and_exit_codes(void) {
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_OK), 0);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_ECONFIG), 2);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_EUSAGE), 2);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_EOVERFLOW), 2);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_EDATA), 3);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_EIO), 4);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_EREQUEUE), 75);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_ENOMEM), 1);
    CU_ASSERT_EQUAL(mtn_exit_code(MTN_ENOTBUILT), 1);
    CU_ASSERT_STRING_EQUAL(mtn_status_name(MTN_ECONFIG), "config error");
    CU_ASSERT_EQUAL(mtn_error_set(MTN_EDATA, "%s: bad %d", "x.h5", 7), MTN_EDATA);
    CU_ASSERT_STRING_EQUAL(mtn_error_message(), "x.h5: bad 7");
    CU_ASSERT_EQUAL(mtn_error_status(), MTN_EDATA);
    mtn_error_clear();
    CU_ASSERT_STRING_EQUAL(mtn_error_message(), "");
    CU_ASSERT_EQUAL(mtn_error_status(), MTN_OK);
}

static void test_checked_products(void) {
    size_t s;
    CU_ASSERT(mtn_mul_size(1u << 20, 1u << 20, &s) && s == (size_t)1 << 40);
    CU_ASSERT(!mtn_mul_size(SIZE_MAX / 2 + 1, 2, &s) && s == 0);
    int64_t p;
    int64_t ok[4] = {256, 256, 720, 8};
    CU_ASSERT(mtn_product_i64(ok, 4, &p) && p == 256LL * 256 * 720 * 8);
    int64_t big[3] = {INT64_C(1) << 40, INT64_C(1) << 30, 4};
    CU_ASSERT(!mtn_product_i64(big, 3, &p));
    int64_t neg[2] = {5, -1};
    CU_ASSERT(!mtn_product_i64(neg, 2, &p));
}

static void test_logging_is_rank_aware(void) {
    FILE *f = mtn_test_capture_open();
    mtn_log_init(1, 4, MTN_LOG_INFO, f);
    MTN_INFO("info from rank one");
    MTN_DEBUG("debug from rank one");
    MTN_WARN("careful %d", 3);
    MTN_ERROR("broken");
    char *text = mtn_test_capture_text(f);
    CU_ASSERT_PTR_NULL(strstr(text, "info from rank one"));
    CU_ASSERT_PTR_NULL(strstr(text, "debug"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[rank 1/4] warning: careful 3\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[rank 1/4] error: broken\n"));
    free(text);
    fclose(f);

    f = mtn_test_capture_open();
    mtn_log_init(0, 4, MTN_LOG_WARN, f);
    MTN_INFO("hidden by level");
    MTN_WARN("shown");
    mtn_log_init(0, 1, MTN_LOG_DEBUG, f);
    MTN_DEBUG("dbg");
    MTN_INFO("plain line\n");
    text = mtn_test_capture_text(f);
    CU_ASSERT_PTR_NULL(strstr(text, "hidden"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[rank 0/4] warning: shown\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "debug: dbg\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "plain line\n"));
    CU_ASSERT_PTR_NULL(strstr(text, "plain line\n\n"));
    free(text);
    fclose(f);

    f = mtn_test_capture_open();
    mtn_log_init(2, 3, MTN_LOG_INFO, f);
    mtn_log_set_all_ranks(true);
    MTN_INFO("every rank");
    mtn_log_set_all_ranks(false);
    text = mtn_test_capture_text(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[rank 2/3] every rank"));
    free(text);
    fclose(f);
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);

    CU_ASSERT_EQUAL(mtn_log_level_parse("WARN"), MTN_LOG_WARN);
    CU_ASSERT_EQUAL(mtn_log_level_parse("warning"), MTN_LOG_WARN);
    CU_ASSERT_EQUAL(mtn_log_level_parse("quiet"), MTN_LOG_QUIET);
    CU_ASSERT_EQUAL(mtn_log_level_parse("loud"), -1);
}

static double fake_now;
static double fake_clock(void) { return fake_now; }

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

static void test_progress_lines(void) {
    FILE *f = mtn_test_capture_open();
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
    mtn_progress_opts o = {f, MTN_PROGRESS_LINES, 10.0, fake_clock};
    mtn_progress p;
    fake_now = 100;
    mtn_progress_begin(&p, "epoch 1", 100, &o);
    for (int i = 1; i <= 100; i++) {
        fake_now = 100 + i; /* one step per second: a line every 10 steps */
        mtn_progress_update(&p, i, "loss 0.5");
    }
    mtn_progress_end(&p, "loss 0.4");
    char *text = mtn_test_capture_text(f);
    CU_ASSERT_EQUAL(count(text, "\n"), 11); /* 10 interval lines + the final one */
    CU_ASSERT_EQUAL(count(text, "\r"), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "epoch 1: 10/100 (10%)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "100/100 (100%)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "loss 0.4 (done)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "eta "));
    free(text);
    fclose(f);
}

static void test_progress_bar_and_silence(void) {
    FILE *f = mtn_test_capture_open();
    mtn_progress_opts o = {f, MTN_PROGRESS_BAR, 0, fake_clock};
    mtn_progress p;
    fake_now = 0;
    mtn_progress_begin(&p, "stage", 8, &o);
    for (int i = 1; i <= 8; i++) {
        fake_now += 1;
        mtn_progress_update(&p, i, NULL);
    }
    mtn_progress_end(&p, NULL);
    char *text = mtn_test_capture_text(f);
    CU_ASSERT(count(text, "\r") >= 8);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[############............] 4/8"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "[########################] 8/8"));
    CU_ASSERT_EQUAL(count(text, "\n"), 1);
    free(text);
    fclose(f);

    /* only rank 0 reports */
    f = mtn_test_capture_open();
    mtn_log_init(1, 2, MTN_LOG_INFO, NULL);
    mtn_progress_begin(&p, "stage", 8, &o);
    mtn_progress_update(&p, 8, NULL);
    mtn_progress_end(&p, NULL);
    text = mtn_test_capture_text(f);
    CU_ASSERT_STRING_EQUAL(text, "");
    free(text);
    fclose(f);
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
}

static void test_suggestions(void) {
    CU_ASSERT_EQUAL(mtn_edit_distance("lerning_rate", "learning_rate"), 1);
    CU_ASSERT_EQUAL(mtn_edit_distance("SGD", "sgd"), 0);
    CU_ASSERT_EQUAL(mtn_edit_distance("ab", "ba"), 1);
    const char *keys[] = {"learning_rate", "batch_size", "epochs", "z_train"};
    CU_ASSERT_STRING_EQUAL(mtn_suggest("learnig_rate", keys, 4), "learning_rate");
    CU_ASSERT_STRING_EQUAL(mtn_suggest("batchsize", keys, 4), "batch_size");
    CU_ASSERT_STRING_EQUAL(mtn_suggest("z_trian", keys, 4), "z_train");
    CU_ASSERT_PTR_NULL(mtn_suggest("momentum", keys, 4));
}

static const mtn_test_case core_tests[] = {
    {"status codes, messages and exit codes", test_status_and_exit_codes},
    {"checked size products", test_checked_products},
    {"logging is rank-aware", test_logging_is_rank_aware},
    {"progress: periodic lines off a TTY", test_progress_lines},
    {"progress: live bar, and silence off rank 0", test_progress_bar_and_silence},
    {"did you mean", test_suggestions},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"core", core_tests}, {NULL, NULL}};
