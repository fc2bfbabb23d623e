/* harness.h — the shared main of the CUnit test binaries: registers the suites a
 * test file declares, runs them, and exits non-zero when any assertion failed (CUnit
 * itself returns success either way). Also small helpers for temporary files and
 * captured output. */
#ifndef MTN_TEST_HARNESS_H
#define MTN_TEST_HARNESS_H

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} mtn_test_case;

typedef struct {
    const char *name;
    const mtn_test_case *tests; /* terminated by {NULL, NULL} */
} mtn_test_suite;

/* Defined by each test file: its suites, terminated by {NULL, NULL}. */
extern const mtn_test_suite mtn_test_suites[];

/* Writes `text` to a new file under the test's temporary directory and returns its
 * path (static buffer, valid until the next call). `name` becomes the file name. */
const char *mtn_test_write_file(const char *name, const char *text);
/* The test's temporary directory (created on first use, removed at exit). */
const char *mtn_test_tmpdir(void);
/* name inside the test's temporary folder; the last 8 results stay valid */
const char *mtn_test_path(const char *name);
/* Runs a Python oracle, `/usr/bin/python3 SCRIPT IN OUT` (SCRIPT under tests/ref/),
 * and reads `count` numbers from OUT (malloc'd); NULL after a failed CUnit assertion
 * when it does not run or prints fewer numbers. */
double *mtn_test_run_oracle(const char *script, const char *in, const char *out, size_t count);
/* A file opened for capturing output, and its text read back (malloc'd). */
FILE *mtn_test_capture_open(void);
char *mtn_test_capture_text(FILE *f);

#define MTN_TEST_SOURCE_DIR MTN_SOURCE_DIR

#endif
