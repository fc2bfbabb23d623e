/* test_readout.c — Task 3's linear readout (mtn_ols_fit, mtn_ols_predict, mtn_r2,
 * mtn_readout_r2) against numpy and scikit-learn through the committed fixture
 * tests/unit/data/readout_fixture.txt (written by tests/ref/readout_oracle.py): a full
 * rank case, a rank-deficient one (a dead unit and a duplicated column: minimum norm)
 * and d > n, each with a target that has missing values and a train/test split. Then
 * cases with answers known by hand: an exact linear target (R² = 1), a constant target
 * (NaN), too few rows on a side, shared fits of targets with the same missing rows,
 * R² below zero, and bad input (no rows, NaN in X, infinite targets).
 *
 * Tolerance against the fixture: 1e-9, relative to the largest coefficient of the
 * target (at least 1) and absolute for R². The problems are well conditioned (centred
 * X of Gaussian columns, condition ~3 on the retained singular values, the discarded
 * ones ~1e-16 of the largest), so two double-precision SVD solves agree to ~1e-14;
 * 1e-9 leaves room for other BLAS builds and thread counts while any slip in the
 * formula (a wrong mean, an unpenalised vs penalised intercept, a lost row) moves
 * the numbers by 1e-3 or more. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "mtn/eval.h"

#define FIXTURE MTN_SOURCE_DIR "/tests/unit/data/readout_fixture.txt"
static const double FIXTURE_TOL = 1e-9;
/* Hand-made cases: exact answers, off only by double rounding. */
static const double EXACT_TOL = 1e-12;

/* ------------------------------------------------------------- the fixture --- */

typedef struct {
    char name[64];
    int n, d, t;
    double *x, *y, *coef, *r2_in, *r2_out; /* (n, d), (n, t), (t, d + 1), (t), (t) */
    bool *train;                           /* (n) */
} fixture_case;

enum { MAX_CASES = 8 };
static fixture_case cases[MAX_CASES];
static int n_cases = -1; /* -1: not read yet */

/* Next whitespace-separated token of f, skipping '#' comments to the end of the line;
 * false at the end of the file. */
static bool next_token(FILE *f, char *buf, size_t size) {
    int c;
    for (;;) {
        while ((c = fgetc(f)) != EOF && isspace(c)) {
        }
        if (c == EOF) return false;
        if (c != '#') break;
        while ((c = fgetc(f)) != EOF && c != '\n') {
        }
    }
    size_t len = 0;
    do {
        if (len + 1 < size) buf[len++] = (char)c;
    } while ((c = fgetc(f)) != EOF && !isspace(c));
    buf[len] = '\0';
    return true;
}

/* The next token must be `word`; false (with a note naming both) when it is not. */
static bool expect_word(FILE *f, const char *word) {
    char tok[128] = "";
    if (next_token(f, tok, sizeof tok) && strcmp(tok, word) == 0) return true;
    fprintf(stderr, "\n%s: expected '%s', read '%s'\n", FIXTURE, word, tok);
    return false;
}

/* count numbers (strtod: "nan" included) into a new array; NULL with a note when the
 * file runs out or a token is not a number. */
static double *read_numbers(FILE *f, size_t count, const char *what) {
    double *out = malloc((count ? count : 1) * sizeof *out);
    char tok[128] = "";
    for (size_t i = 0; out && i < count; i++) {
        char *end = NULL;
        if (!next_token(f, tok, sizeof tok) || (out[i] = strtod(tok, &end), *end != '\0' || end == tok)) {
            fprintf(stderr, "\n%s: %s value %zu of %zu: expected a number, read '%s'\n", FIXTURE, what, i, count,
                    tok);
            free(out);
            return NULL;
        }
    }
    return out;
}

/* Reads every case of the fixture once; fails the running test when it cannot. */
static void load_fixture(void) {
    if (n_cases >= 0) return;
    n_cases = 0;
    FILE *f = fopen(FIXTURE, "r");
    if (!f) {
        fprintf(stderr, "\ncannot open %s (written by tests/ref/readout_oracle.py)\n", FIXTURE);
        CU_FAIL_FATAL("readout fixture missing");
    }
    char tok[128] = "";
    while (next_token(f, tok, sizeof tok) && strcmp(tok, "end") != 0) {
        CU_ASSERT_FATAL(strcmp(tok, "case") == 0 && n_cases < MAX_CASES);
        fixture_case *c = &cases[n_cases];
        CU_ASSERT_FATAL(fscanf(f, "%63s %d %d %d", c->name, &c->n, &c->d, &c->t) == 4);
        CU_ASSERT_FATAL(c->n > 0 && c->d > 0 && c->t > 0);
        const size_t n = (size_t)c->n, d = (size_t)c->d, t = (size_t)c->t;
        double *train = NULL;
        bool ok = expect_word(f, "X") && (c->x = read_numbers(f, n * d, "X")) && expect_word(f, "Y") &&
                  (c->y = read_numbers(f, n * t, "Y")) && expect_word(f, "train") &&
                  (train = read_numbers(f, n, "train")) && expect_word(f, "coef") &&
                  (c->coef = read_numbers(f, t * (d + 1), "coef")) && expect_word(f, "r2_in") &&
                  (c->r2_in = read_numbers(f, t, "r2_in")) && expect_word(f, "r2_out") &&
                  (c->r2_out = read_numbers(f, t, "r2_out"));
        if (!ok) {
            free(train);
            fclose(f);
            CU_FAIL_FATAL("readout fixture unreadable");
        }
        c->train = malloc(n * sizeof *c->train);
        CU_ASSERT_FATAL(c->train != NULL);
        for (size_t i = 0; i < n; i++) c->train[i] = train[i] != 0.0;
        free(train);
        n_cases++;
    }
    fclose(f);
    CU_ASSERT_FATAL(strcmp(tok, "end") == 0);
}

static const fixture_case *find_case(const char *name) {
    load_fixture();
    for (int i = 0; i < n_cases; i++)
        if (strcmp(cases[i].name, name) == 0) return &cases[i];
    fprintf(stderr, "\n%s: no case '%s'\n", FIXTURE, name);
    CU_FAIL_FATAL("readout fixture case missing");
    return NULL;
}

/* Largest errors seen against the fixture, printed by the last test. */
static double worst_coef, worst_r2;

/* |got - want| for R², NaN matching NaN only (a mismatch counts as infinite). */
static double r2_error(double got, double want) {
    if (isnan(got) || isnan(want)) return isnan(got) && isnan(want) ? 0.0 : INFINITY;
    return fabs(got - want);
}

static void expect_r2(double got, double want, const char *what, const char *name, int k) {
    double err = r2_error(got, want);
    if (err > worst_r2) worst_r2 = err;
    if (!(err <= FIXTURE_TOL))
        printf("\n  %s %s target %d: got %.17g, expected %.17g", name, what, k, got, want);
    CU_ASSERT(err <= FIXTURE_TOL);
}

/* Rows of case c where target k is not NaN, gathered: x (rows, d), y (rows, 1). */
static int gather(const fixture_case *c, int k, double *x, double *y) {
    int rows = 0;
    for (int i = 0; i < c->n; i++) {
        double v = c->y[(size_t)i * (size_t)c->t + (size_t)k];
        if (isnan(v)) continue;
        memcpy(x + (size_t)rows * (size_t)c->d, c->x + (size_t)i * (size_t)c->d, (size_t)c->d * sizeof *x);
        y[rows++] = v;
    }
    return rows;
}

/* One fixture case through every entry point. */
static void check_case(const char *name) {
    const fixture_case *c = find_case(name);
    const int n = c->n, d = c->d, t = c->t;
    double *x = malloc((size_t)n * (size_t)d * sizeof *x), *y = malloc((size_t)n * sizeof *y);
    double *coef = malloc(((size_t)d + 1) * sizeof *coef), *pred = malloc((size_t)n * sizeof *pred);
    float *e = malloc((size_t)n * (size_t)d * sizeof *e);
    double *r2_in = malloc((size_t)t * sizeof *r2_in), *r2_out = malloc((size_t)t * sizeof *r2_out);
    CU_ASSERT_FATAL(x && y && coef && pred && e && r2_in && r2_out);
    double case_coef = 0.0;
    for (int k = 0; k < t; k++) {
        /* mtn_ols_fit on the target's rows: the coefficients. */
        int rows = gather(c, k, x, y);
        CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(x, rows, d, y, 1, coef), MTN_OK);
        const double *want = c->coef + (size_t)k * ((size_t)d + 1);
        double scale = 1.0, err = 0.0;
        for (int j = 0; j <= d; j++) scale = fmax(scale, fabs(want[j]));
        for (int j = 0; j <= d; j++) err = fmax(err, fabs(coef[j] - want[j]) / scale);
        if (!(err <= FIXTURE_TOL)) printf("\n  %s target %d: coefficients off by %.3g of %.3g", name, k, err, scale);
        CU_ASSERT(err <= FIXTURE_TOL);
        case_coef = fmax(case_coef, err);
        /* mtn_ols_predict and mtn_r2 on the same rows: the in-sample R². */
        double r2 = 0.0;
        mtn_ols_predict(coef, x, rows, d, 1, pred);
        mtn_r2(y, pred, rows, 1, &r2);
        expect_r2(r2, c->r2_in[k], "mtn_r2 in-sample", name, k);
    }
    /* mtn_readout_r2 from float embeddings (the fixture's X is float32-valued). */
    for (size_t i = 0; i < (size_t)n * (size_t)d; i++) {
        e[i] = (float)c->x[i];
        CU_ASSERT_EQUAL((double)e[i], c->x[i]);
    }
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, n, d, c->y, t, c->train, r2_in, r2_out), MTN_OK);
    for (int k = 0; k < t; k++) {
        expect_r2(r2_in[k], c->r2_in[k], "readout in-sample", name, k);
        expect_r2(r2_out[k], c->r2_out[k], "readout held-out", name, k);
        CU_ASSERT(!isnan(r2_in[k]) && !isnan(r2_out[k])); /* every fixture target has enough rows */
    }
    if (case_coef > worst_coef) worst_coef = case_coef;
    printf("\n  %s (n %d, d %d): max coefficient error %.2g (relative); R² in, out:", name, n, d, case_coef);
    for (int k = 0; k < t; k++) printf(" %.4f, %.4f;", r2_in[k], r2_out[k]);
    free(x);
    free(y);
    free(coef);
    free(pred);
    free(e);
    free(r2_in);
    free(r2_out);
}

static void test_fixture_full_rank(void) { check_case("full_rank"); }
static void test_fixture_rank_deficient(void) {
    check_case("rank_deficient");
    /* The minimum norm puts equal weight on the duplicated columns 2 and 6 and none on
     * the dead column 5. */
    const fixture_case *c = find_case("rank_deficient");
    const int d = c->d;
    double *x = malloc((size_t)c->n * (size_t)d * sizeof *x), *y = malloc((size_t)c->n * sizeof *y);
    double *coef = malloc(((size_t)d + 1) * sizeof *coef);
    CU_ASSERT_FATAL(x && y && coef && d == 7);
    for (int k = 0; k < c->t; k++) {
        int rows = gather(c, k, x, y);
        CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(x, rows, d, y, 1, coef), MTN_OK);
        CU_ASSERT_DOUBLE_EQUAL(coef[1 + 2], coef[1 + 6], FIXTURE_TOL * fmax(1.0, fabs(coef[1 + 2])));
        CU_ASSERT_DOUBLE_EQUAL(coef[1 + 5], 0.0, EXACT_TOL);
    }
    free(x);
    free(y);
    free(coef);
}
static void test_fixture_wide(void) { check_case("wide"); }

/* Fitting t targets at once (Y (n, t) with a stride) equals fitting each alone. */
static void test_targets_at_once(void) {
    const fixture_case *c = find_case("full_rank");
    const int d = c->d, n = c->n;
    double both[2 * 8], one[8], *y2 = malloc((size_t)n * 2 * sizeof *y2), *y1 = malloc((size_t)n * sizeof *y1);
    CU_ASSERT_FATAL(d + 1 <= 8 && y2 && y1);
    for (int i = 0; i < n; i++) { /* targets 0 and 1 have no missing values */
        y2[2 * i] = c->y[(size_t)i * (size_t)c->t];
        y2[2 * i + 1] = c->y[(size_t)i * (size_t)c->t + 1];
    }
    CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(c->x, n, d, y2, 2, both), MTN_OK);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < n; i++) y1[i] = y2[2 * i + k];
        CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(c->x, n, d, y1, 1, one), MTN_OK);
        for (int j = 0; j <= d; j++)
            CU_ASSERT_DOUBLE_EQUAL(both[k * (d + 1) + j], one[j], EXACT_TOL * fmax(1.0, fabs(one[j])));
    }
    free(y2);
    free(y1);
}

/* ------------------------------------------------------- known by hand --- */

enum { HN = 10, HD = 2 };
/* x0 = i, x1 = (i * i) % 7: independent columns. */
static void hand_x(double *x, float *e) {
    for (int i = 0; i < HN; i++) {
        x[i * HD] = i;
        x[i * HD + 1] = (i * i) % 7;
        if (e) {
            e[i * HD] = (float)x[i * HD];
            e[i * HD + 1] = (float)x[i * HD + 1];
        }
    }
}
static const bool hand_train[HN] = {1, 0, 1, 1, 0, 1, 1, 0, 1, 0};

static void test_exact_linear_target(void) {
    double x[HN * HD], y[HN], coef[HD + 1], pred[HN], r2 = 0, r2_in = 0, r2_out = 0;
    float e[HN * HD];
    hand_x(x, e);
    for (int i = 0; i < HN; i++) y[i] = 3.0 + 2.0 * x[i * HD] - x[i * HD + 1];
    CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(x, HN, HD, y, 1, coef), MTN_OK);
    CU_ASSERT_DOUBLE_EQUAL(coef[0], 3.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[1], 2.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[2], -1.0, EXACT_TOL);
    mtn_ols_predict(coef, x, HN, HD, 1, pred);
    for (int i = 0; i < HN; i++) CU_ASSERT_DOUBLE_EQUAL(pred[i], y[i], EXACT_TOL);
    mtn_r2(y, pred, HN, 1, &r2);
    CU_ASSERT_DOUBLE_EQUAL(r2, 1.0, EXACT_TOL);
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y, 1, hand_train, &r2_in, &r2_out), MTN_OK);
    CU_ASSERT_DOUBLE_EQUAL(r2_in, 1.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(r2_out, 1.0, EXACT_TOL);
    /* Without a split: r2_out may be NULL. */
    r2_in = 0;
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y, 1, NULL, &r2_in, NULL), MTN_OK);
    CU_ASSERT_DOUBLE_EQUAL(r2_in, 1.0, EXACT_TOL);
}

static void test_constant_target(void) {
    /* 0.1 ten times: its mean in double is not exactly 0.1, yet R² must be NaN. */
    double x[HN * HD], y[HN], coef[HD + 1], pred[HN], r2 = 0, r2_in = 0, r2_out = 0;
    float e[HN * HD];
    hand_x(x, e);
    for (int i = 0; i < HN; i++) y[i] = 0.1;
    CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(x, HN, HD, y, 1, coef), MTN_OK);
    CU_ASSERT_DOUBLE_EQUAL(coef[0], 0.1, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[1], 0.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[2], 0.0, EXACT_TOL);
    mtn_ols_predict(coef, x, HN, HD, 1, pred);
    mtn_r2(y, pred, HN, 1, &r2);
    CU_ASSERT(isnan(r2));
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y, 1, hand_train, &r2_in, &r2_out), MTN_OK);
    CU_ASSERT(isnan(r2_in));
    CU_ASSERT(isnan(r2_out));
}

static void test_r2_by_hand(void) {
    /* Y = 1, 2, 3 (mean 2, SS_tot 2). */
    const double y[] = {1, 2, 3}, close[] = {1, 2, 4}, flat[] = {3, 3, 3};
    double r2 = 0;
    mtn_r2(y, close, 3, 1, &r2); /* SS_res 1 */
    CU_ASSERT_DOUBLE_EQUAL(r2, 0.5, EXACT_TOL);
    mtn_r2(y, flat, 3, 1, &r2); /* SS_res 4 + 1 + 0: worse than the mean */
    CU_ASSERT_DOUBLE_EQUAL(r2, -1.5, EXACT_TOL);
    /* Two targets, interleaved; one row only -> NaN; no rows -> NaN. */
    const double y2[] = {1, 10, 2, 20, 3, 30}, p2[] = {1, 10, 2, 20, 4, 30};
    double two[2] = {0, 0};
    mtn_r2(y2, p2, 3, 2, two);
    CU_ASSERT_DOUBLE_EQUAL(two[0], 0.5, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(two[1], 1.0, EXACT_TOL);
    mtn_r2(y, close, 1, 1, &r2);
    CU_ASSERT(isnan(r2));
    r2 = 0;
    mtn_r2(NULL, NULL, 0, 1, &r2);
    CU_ASSERT(isnan(r2));
}

/* Missing values: each target's fit uses only its own rows; too few rows -> NaN. */
static void test_missing_and_too_few(void) {
    enum { T = 4 };
    double x[HN * HD], y[HN * T], r2_in[T], r2_out[T];
    float e[HN * HD];
    hand_x(x, e);
    for (int i = 0; i < HN; i++) {
        double lin = 3.0 + 2.0 * x[i * HD] - x[i * HD + 1];
        y[i * T + 0] = lin + (i % 3 == 0 ? 0.5 : -0.25);       /* all rows, not exact */
        y[i * T + 1] = i == 4 ? NAN : lin;                     /* exact where present */
        y[i * T + 2] = i == 2 ? 7.0 : NAN;                     /* one row only */
        y[i * T + 3] = (hand_train[i] || i == 7) ? lin : NAN;  /* one test row: 7 */
    }
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y, T, hand_train, r2_in, r2_out), MTN_OK);
    CU_ASSERT(r2_in[0] > 0.9 && r2_in[0] < 1.0);
    CU_ASSERT(r2_out[0] < 1.0 && !isnan(r2_out[0]));
    CU_ASSERT_DOUBLE_EQUAL(r2_in[1], 1.0, EXACT_TOL); /* the NaN row is not a row at all */
    CU_ASSERT_DOUBLE_EQUAL(r2_out[1], 1.0, EXACT_TOL);
    CU_ASSERT(isnan(r2_in[2]));
    CU_ASSERT(isnan(r2_out[2]));
    CU_ASSERT_DOUBLE_EQUAL(r2_in[3], 1.0, EXACT_TOL);
    CU_ASSERT(isnan(r2_out[3]));
    /* All rows training: no test rows, held-out NaN. */
    bool all_train[HN];
    for (int i = 0; i < HN; i++) all_train[i] = true;
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y, T, all_train, r2_in, r2_out), MTN_OK);
    CU_ASSERT(!isnan(r2_in[0]) && isnan(r2_out[0]));
}

/* Targets fitted together (same missing rows) give what they give alone. */
static void test_shared_fits(void) {
    enum { T = 3 };
    double x[HN * HD], y[HN * T], r2_in[T], r2_out[T], in1 = 0, out1 = 0, y1[HN];
    float e[HN * HD];
    hand_x(x, e);
    for (int i = 0; i < HN; i++) {
        y[i * T + 0] = sin(i) + 0.3 * x[i * HD];
        y[i * T + 1] = i == 5 ? NAN : cos(3.0 * i) * x[i * HD + 1];
        y[i * T + 2] = exp(0.1 * i);
    }
    CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y, T, hand_train, r2_in, r2_out), MTN_OK);
    for (int k = 0; k < T; k++) {
        for (int i = 0; i < HN; i++) y1[i] = y[i * T + k];
        CU_ASSERT_EQUAL_FATAL(mtn_readout_r2(e, HN, HD, y1, 1, hand_train, &in1, &out1), MTN_OK);
        CU_ASSERT_DOUBLE_EQUAL(r2_in[k], in1, EXACT_TOL);
        CU_ASSERT_DOUBLE_EQUAL(r2_out[k], out1, EXACT_TOL);
        CU_ASSERT(!isnan(in1) && !isnan(out1));
    }
}

static void test_one_row_and_wide(void) {
    /* One row: b = 0 (minimum norm), b0 = y. */
    const double x1[] = {4.0, -2.0}, y1[] = {5.0};
    double coef[3] = {9, 9, 9};
    CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(x1, 1, 2, y1, 1, coef), MTN_OK);
    CU_ASSERT_DOUBLE_EQUAL(coef[0], 5.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[1], 0.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[2], 0.0, EXACT_TOL);
    /* Two rows, two columns: centred rows are +-(1, 1); y = 0, 2 -> b = (0.5, 0.5). */
    const double x2[] = {0, 0, 2, 2}, y2[] = {0, 2};
    CU_ASSERT_EQUAL_FATAL(mtn_ols_fit(x2, 2, 2, y2, 1, coef), MTN_OK);
    CU_ASSERT_DOUBLE_EQUAL(coef[0], 0.0, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[1], 0.5, EXACT_TOL);
    CU_ASSERT_DOUBLE_EQUAL(coef[2], 0.5, EXACT_TOL);
}

static void test_bad_input(void) {
    double x[HN * HD], y[HN], coef[HD + 1], r2_in = 0, r2_out = 0;
    float e[HN * HD];
    hand_x(x, e);
    for (int i = 0; i < HN; i++) y[i] = i;
    CU_ASSERT_EQUAL(mtn_ols_fit(x, 0, HD, y, 1, coef), MTN_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "0 samples"));
    CU_ASSERT_EQUAL(mtn_ols_fit(x, HN, 0, y, 1, coef), MTN_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "0 features"));
    CU_ASSERT_EQUAL(mtn_ols_fit(x, HN, HD, y, 0, coef), MTN_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "0 targets"));
    CU_ASSERT_EQUAL(mtn_readout_r2(e, 0, HD, y, 1, hand_train, &r2_in, &r2_out), MTN_EUSAGE);
    CU_ASSERT(isnan(r2_in) && isnan(r2_out));
    CU_ASSERT_EQUAL(mtn_readout_r2(e, HN, -1, y, 1, hand_train, &r2_in, &r2_out), MTN_EUSAGE);

    /* NaN in X: row and column named; coef untouched. */
    for (int j = 0; j <= HD; j++) coef[j] = 7.0;
    x[3 * HD + 1] = NAN;
    CU_ASSERT_EQUAL(mtn_ols_fit(x, HN, HD, y, 1, coef), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 3 column 1"));
    for (int j = 0; j <= HD; j++) CU_ASSERT_EQUAL(coef[j], 7.0);
    hand_x(x, NULL);
    /* Infinite Y in a plain fit; infinite X. */
    y[2] = INFINITY;
    CU_ASSERT_EQUAL(mtn_ols_fit(x, HN, HD, y, 1, coef), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 2 target 0"));
    y[2] = 2;
    x[5 * HD] = -INFINITY;
    CU_ASSERT_EQUAL(mtn_ols_fit(x, HN, HD, y, 1, coef), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 5 column 0"));

    /* The readout: NaN in an embedding (even in a row whose target is missing). */
    e[6 * HD + 1] = NAN;
    y[6] = NAN;
    CU_ASSERT_EQUAL(mtn_readout_r2(e, HN, HD, y, 1, hand_train, &r2_in, &r2_out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 6 column 1"));
    CU_ASSERT(isnan(r2_in) && isnan(r2_out));
    e[6 * HD + 1] = 1.0f;
    /* NaN in Y is a missing value; infinity is an error. */
    CU_ASSERT_EQUAL(mtn_readout_r2(e, HN, HD, y, 1, hand_train, &r2_in, &r2_out), MTN_OK);
    y[8] = INFINITY;
    CU_ASSERT_EQUAL(mtn_readout_r2(e, HN, HD, y, 1, hand_train, &r2_in, &r2_out), MTN_EDATA);
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_error_message(), "row 8 target 0"));
}

static void test_report(void) {
    printf("\n  against the fixture: max coefficient error %.2g (relative, tolerance %g), max R² error %.2g "
           "(absolute, tolerance %g)",
           worst_coef, FIXTURE_TOL, worst_r2, FIXTURE_TOL);
    for (int i = 0; i < n_cases; i++) {
        free(cases[i].x);
        free(cases[i].y);
        free(cases[i].coef);
        free(cases[i].r2_in);
        free(cases[i].r2_out);
        free(cases[i].train);
    }
    n_cases = -1;
}

static const mtn_test_case fixture_tests[] = {
    {"full rank matches numpy and sklearn", test_fixture_full_rank},
    {"dead and duplicated units: minimum norm", test_fixture_rank_deficient},
    {"d > n: minimum norm", test_fixture_wide},
    {"t targets at once equal each alone", test_targets_at_once},
    {"report", test_report},
    {NULL, NULL},
};

static const mtn_test_case hand_tests[] = {
    {"exact linear target: R² = 1", test_exact_linear_target},
    {"constant target: R² NaN", test_constant_target},
    {"R² by hand, negative, too few rows", test_r2_by_hand},
    {"missing values and too few rows on a side", test_missing_and_too_few},
    {"targets sharing missing rows share a fit", test_shared_fits},
    {"one row, and two rows on a line", test_one_row_and_wide},
    {"bad input", test_bad_input},
    {NULL, NULL},
};

const mtn_test_suite mtn_test_suites[] = {
    {"readout fixture", fixture_tests},
    {"readout by hand", hand_tests},
    {NULL, NULL},
};
