/* test_core.c — status codes and messages, exit codes, checked products, a failing
 * MTN_ASSERT (in a forked child), rank-aware logging, the progress reporter (both
 * modes with a fake clock, and its automatic choice on a pipe, a file and a
 * pseudo-terminal) and "did you mean". */
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* The assertion the child trips; TRIP_LINE is the line it sits on. */
static volatile int answer = 4;
enum { TRIP_LINE = __LINE__ }; static void trip_assert(void) { MTN_ASSERT(answer == 5); }

/* Runs trip_assert in a forked child with its stderr on a pipe; returns what the
 * child wrote (malloc'd) and stores its wait status. */
static char *run_tripping_child(int *status) {
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core); /* an abort here is expected: no core file */
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        trip_assert();
        _exit(0); /* reached only if MTN_ASSERT let a false condition through */
    }
    close(fds[1]);
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    ssize_t got;
    while (text && (got = read(fds[0], text + len, cap - 1 - len)) > 0) {
        len += (size_t)got;
        if (len == cap - 1) text = realloc(text, cap *= 2); /* ASan may say a lot */
    }
    close(fds[0]);
    CU_ASSERT_FATAL(text != NULL);
    text[len] = '\0';
    CU_ASSERT_FATAL(waitpid(pid, status, 0) == pid);
    return text;
}

static void test_assert_aborts_with_file_line(void) {
    int status = 0;
    char *text = run_tripping_child(&status);
    /* mtn_assert_fail prints one line and calls abort(): killed by SIGABRT, or, in a
     * sanitizer build run with ASAN_OPTIONS=handle_abort=1, ASan's report of that
     * abort and its non-zero exit */
    bool aborted = (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) ||
                   (WIFEXITED(status) && WEXITSTATUS(status) != 0 && strstr(text, "AddressSanitizer: ABRT"));
    CU_ASSERT(aborted);
    char where[600];
    snprintf(where, sizeof where, "%s:%d\n", __FILE__, (int)TRIP_LINE);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "mtneuro: internal error: assertion `answer == 5` failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "in trip_assert at "));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, where));
    if (!aborted || !strstr(text, where))
        fprintf(stderr, "child status %d, stderr:\n%s\n", status, text);
    free(text);
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

/* The mode MTN_PROGRESS_AUTO resolves to on `stream`. */
static mtn_progress_mode auto_mode(FILE *stream) {
    mtn_progress_opts o = {stream, MTN_PROGRESS_AUTO, 1.0, fake_clock};
    mtn_progress p;
    mtn_progress_begin(&p, "auto", 4, &o);
    return p.mode;
}

static void test_progress_picks_mode_by_isatty(void) {
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
    FILE *file = mtn_test_capture_open(); /* a regular file */
    CU_ASSERT_EQUAL(auto_mode(file), MTN_PROGRESS_LINES);
    fclose(file);

    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    FILE *pipe_w = fdopen(fds[1], "w");
    CU_ASSERT_FATAL(pipe_w != NULL);
    CU_ASSERT_EQUAL(auto_mode(pipe_w), MTN_PROGRESS_LINES);
    fclose(pipe_w);
    close(fds[0]);

    int master, slave;
    CU_ASSERT_FATAL(openpty(&master, &slave, NULL, NULL, NULL) == 0);
    FILE *tty = fdopen(slave, "w");
    CU_ASSERT_FATAL(tty != NULL);
    CU_ASSERT_EQUAL(auto_mode(tty), MTN_PROGRESS_BAR);
    /* and the bar is what reaches the terminal */
    mtn_progress_opts o = {tty, MTN_PROGRESS_AUTO, 1.0, fake_clock};
    mtn_progress p;
    mtn_progress_begin(&p, "tty", 2, &o);
    mtn_progress_update(&p, 1, NULL);
    char seen[512] = "";
    struct pollfd ready = {master, POLLIN, 0};
    if (poll(&ready, 1, 5000) == 1) { /* lines mode would print nothing yet: no hang */
        ssize_t n = read(master, seen, sizeof seen - 1);
        seen[n > 0 ? n : 0] = '\0';
    }
    CU_ASSERT_PTR_NOT_NULL(strstr(seen, "\r\033[Ktty [############............] 1/2"));
    fclose(tty);
    close(master);
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
    {"a failing MTN_ASSERT aborts, naming file:line and the expression",
     test_assert_aborts_with_file_line},
    {"logging is rank-aware", test_logging_is_rank_aware},
    {"progress: periodic lines off a TTY", test_progress_lines},
    {"progress: live bar, and silence off rank 0", test_progress_bar_and_silence},
    {"progress: lines on a file or pipe, a bar on a TTY", test_progress_picks_mode_by_isatty},
    {"did you mean", test_suggestions},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"core", core_tests}, {NULL, NULL}};
