/* harness.c — main() for every CUnit test binary (see harness.h). */
#include "harness.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void remove_tmpdir(void) {
    if (!tmpdir[0]) return;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

const char *mtn_test_tmpdir(void) {
    if (!tmpdir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/mtn-test-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
        atexit(remove_tmpdir);
    }
    return tmpdir;
}

const char *mtn_test_path(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", mtn_test_tmpdir(), name);
    return buf[k];
}

double *mtn_test_run_oracle(const char *script, const char *in, const char *out, size_t count) {
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ref/%s' '%s' '%s'", MTN_SOURCE_DIR, script, in, out);
    int rc = system(cmd);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0) {
        fprintf(stderr, "oracle failed (status %d): %s\n", rc, cmd);
        CU_FAIL("the oracle did not run (needs /usr/bin/python3 with numpy, scipy and scikit-learn)");
        return NULL;
    }
    double *ref = malloc((count ? count : 1) * sizeof *ref);
    FILE *f = fopen(out, "r");
    size_t got = 0;
    while (ref && f && got < count && fscanf(f, "%lf", &ref[got]) == 1) got++;
    if (f) fclose(f);
    CU_ASSERT_EQUAL(got, count);
    if (got != count) {
        free(ref);
        return NULL;
    }
    return ref;
}

const char *mtn_test_write_file(const char *name, const char *text) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", mtn_test_tmpdir(), name);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(2);
    }
    return path;
}

FILE *mtn_test_capture_open(void) {
    FILE *f = tmpfile();
    if (!f) {
        perror("tmpfile");
        exit(2);
    }
    return f;
}

char *mtn_test_capture_text(FILE *f) {
    fflush(f);
    long n = ftell(f);
    char *buf = malloc((size_t)n + 1);
    rewind(f);
    size_t got = fread(buf, 1, (size_t)n, f);
    buf[got] = '\0';
    return buf;
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    for (const mtn_test_suite *s = mtn_test_suites; s->name; s++) {
        CU_pSuite suite = CU_add_suite(s->name, NULL, NULL);
        if (!suite) return 2;
        for (const mtn_test_case *t = s->tests; t->name; t++)
            if (!CU_add_test(suite, t->name, t->fn)) return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    if (run == 0) {
        fprintf(stderr, "no tests ran\n");
        return 1;
    }
    return failures ? 1 : 0;
}
