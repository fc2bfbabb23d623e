/* mtn/core.h — conventions shared by every module: status codes and messages,
 * assertions, checked size arithmetic, rank-aware logging, progress reporting and
 * the counter-based random number generator (Philox4x32-10).
 *
 * Ownership: nothing here allocates on behalf of the caller except
 * mtn_error_message() (a thread-local buffer owned by core; valid until the next
 * mtn_error_set on the same thread). core knows nothing about MPI: ranks are plain
 * ints handed in by the caller (cli), so every piece is testable in one process. */
#ifndef MTN_CORE_H
#define MTN_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ status --- */

/* Library functions return 0 on success or one of these negative codes, and leave a
 * human-readable message (naming the file, key or URL at fault) for the caller. */
enum {
    MTN_OK = 0,
    MTN_EUSAGE = -1,   /* bad command line                           -> exit 2 */
    MTN_ECONFIG = -2,  /* bad task/network/job config                -> exit 2 */
    MTN_EDATA = -3,    /* bad data or unreachable source             -> exit 3 */
    MTN_EIO = -4,      /* file system / HDF5 I/O failure             -> exit 4 */
    MTN_ENOMEM = -5,   /* allocation failed                          -> exit 1 */
    MTN_EOVERFLOW = -6,/* a size product does not fit                -> exit 2 */
    MTN_EREQUEUE = -7, /* stopped by SIGTERM/SIGUSR1 after checkpoint -> exit 75 */
    MTN_ENOTBUILT = -8,/* the feature belongs to a later issue       -> exit 1 */
    MTN_EINTERNAL = -9 /* anything else                              -> exit 1 */
};

/* Process exit codes (design §6). */
enum { MTN_EXIT_OK = 0, MTN_EXIT_FAIL = 1, MTN_EXIT_USAGE = 2, MTN_EXIT_DATA = 3,
       MTN_EXIT_IO = 4, MTN_EXIT_REQUEUE = 75 };

/* Short fixed name of a status code ("config error", ...). */
const char *mtn_status_name(int status);
/* Exit code for a status (0 -> 0, MTN_ECONFIG -> 2, ...). */
int mtn_exit_code(int status);
/* Records a formatted message for `status` on this thread and returns `status`,
 * so error paths read `return mtn_error_set(MTN_ECONFIG, "%s: ...", path);`. */
int mtn_error_set(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mtn_error_vset(int status, const char *fmt, va_list ap);
/* Prepends "prefix: " to the last message (e.g. the file a helper did not know);
 * returns the last status. */
int mtn_error_prefix(const char *prefix);
/* The message of the last mtn_error_set on this thread ("" if none). */
const char *mtn_error_message(void);
/* The status of the last mtn_error_set on this thread (MTN_OK if none). */
int mtn_error_status(void);
void mtn_error_clear(void);

/* --------------------------------------------------------------- assertions --- */

/* Programming errors (never bad input) stop the process with file:line. */
#define MTN_ASSERT(cond)                                                                  \
    do {                                                                                  \
        if (!(cond)) mtn_assert_fail(#cond, __FILE__, __LINE__, __func__);                \
    } while (0)
_Noreturn void mtn_assert_fail(const char *expr, const char *file, int line, const char *func);

/* ------------------------------------------------------- checked arithmetic --- */

/* *out = a * b; returns false (and leaves *out = 0) when the product overflows. */
static inline bool mtn_mul_size(size_t a, size_t b, size_t *out) {
    if (__builtin_mul_overflow(a, b, out)) { *out = 0; return false; }
    return true;
}
static inline bool mtn_mul_i64(int64_t a, int64_t b, int64_t *out) {
    if (__builtin_mul_overflow(a, b, out)) { *out = 0; return false; }
    return true;
}
/* Product of n non-negative dims; false on overflow or a negative dim. */
bool mtn_product_i64(const int64_t *dims, int n, int64_t *out);

/* ------------------------------------------------------------------ logging --- */

typedef enum { MTN_LOG_DEBUG = 0, MTN_LOG_INFO = 1, MTN_LOG_WARN = 2, MTN_LOG_ERROR = 3,
               MTN_LOG_QUIET = 4 } mtn_log_level;

/* Rank-aware logging. Info and debug lines come from rank 0 only (every rank with
 * all_ranks); warnings and errors come from every rank, prefixed "[rank r/n]" when
 * size > 1. Lines go to `stream` (stderr when NULL), one fprintf per line so ranks
 * sharing a terminal do not interleave mid-line. */
void mtn_log_init(int rank, int size, mtn_log_level level, FILE *stream);
void mtn_log_set_all_ranks(bool all_ranks);
/* Level from a name ("debug", "info", "warn", "error", "quiet"); -1 if unknown. */
int mtn_log_level_parse(const char *name);
mtn_log_level mtn_log_get_level(void);
int mtn_log_rank(void);
int mtn_log_size(void);
void mtn_log(mtn_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mtn_vlog(mtn_log_level level, const char *fmt, va_list ap);
#define MTN_DEBUG(...) mtn_log(MTN_LOG_DEBUG, __VA_ARGS__)
#define MTN_INFO(...) mtn_log(MTN_LOG_INFO, __VA_ARGS__)
#define MTN_WARN(...) mtn_log(MTN_LOG_WARN, __VA_ARGS__)
#define MTN_ERROR(...) mtn_log(MTN_LOG_ERROR, __VA_ARGS__)

/* ----------------------------------------------------------------- progress --- */

/* A progress reporter for long loops. On a TTY it redraws one live bar; otherwise
 * (Slurm logs, pipes) it prints a plain line at most every `interval_s` seconds and
 * once at the end. Only rank 0 of the log prints. The clock can be replaced for
 * tests. */
typedef double (*mtn_clock_fn)(void);
typedef enum { MTN_PROGRESS_AUTO = 0, MTN_PROGRESS_BAR, MTN_PROGRESS_LINES } mtn_progress_mode;
typedef struct {
    char label[64];
    int64_t total, done;
    FILE *stream;
    mtn_progress_mode mode;  /* resolved: BAR or LINES */
    double interval_s;       /* LINES mode: seconds between lines */
    double t_start, t_last;  /* clock readings */
    mtn_clock_fn clock;
    bool silent;             /* not rank 0 */
    bool bar_drawn;
} mtn_progress;

typedef struct {
    FILE *stream;            /* NULL: stderr */
    mtn_progress_mode mode;  /* AUTO: BAR if the stream is a TTY */
    double interval_s;       /* <= 0: env MTN_PROGRESS_INTERVAL, else 30 s */
    mtn_clock_fn clock;      /* NULL: monotonic clock */
} mtn_progress_opts;

void mtn_progress_begin(mtn_progress *p, const char *label, int64_t total,
                        const mtn_progress_opts *opts);
/* Sets done (not an increment); `note` (may be NULL) is shown after the counts,
 * e.g. "loss 0.4312". */
void mtn_progress_update(mtn_progress *p, int64_t done, const char *note);
void mtn_progress_end(mtn_progress *p, const char *note);
/* Seconds from a monotonic clock. */
double mtn_now(void);

/* ---------------------------------------------------------------------- rng --- */

/* Philox4x32-10 (Salmon et al., SC'11): a counter-based generator. The output block
 * is a pure function of (key, counter), so any draw can be reproduced from
 * (seed, stream, counter) alone — by any rank, in any order.
 *   key     = seed (64 bits, split into two 32-bit words, low word first)
 *   counter = { counter low, counter high, stream low, stream high } */
void mtn_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Same with a chosen number of rounds (7 and 10 have published test vectors). */
void mtn_philox4x32_r(int rounds, const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* A sequential reader over one (seed, stream) starting at block `counter`: four
 * 32-bit words per block. Copyable; the state is just these fields. */
typedef struct {
    uint64_t seed, stream, counter; /* counter = index of the next block */
    uint32_t buf[4];
    int used;                       /* words of buf consumed (4 = empty) */
} mtn_rng;

void mtn_rng_init(mtn_rng *r, uint64_t seed, uint64_t stream, uint64_t counter);
uint32_t mtn_rng_u32(mtn_rng *r);
uint64_t mtn_rng_u64(mtn_rng *r);
/* Uniform in [0, 1): 53 random bits for double, 24 for float. */
double mtn_rng_uniform(mtn_rng *r);
float mtn_rng_uniformf(mtn_rng *r);
/* Standard normal (Box–Muller, one value per call, two uniforms consumed). */
double mtn_rng_normal(mtn_rng *r);
/* Gamma(shape, 1) (Marsaglia–Tsang) and Beta(a, b) = X / (X + Y) of two gammas,
 * shape, a, b > 0 (mixup's lambda ~ Beta(alpha, alpha)). */
double mtn_rng_gamma(mtn_rng *r, double shape);
double mtn_rng_beta(mtn_rng *r, double a, double b);
/* Unbiased integer in [0, n), n > 0 (Lemire's multiply-and-reject). */
uint32_t mtn_rng_below(mtn_rng *r, uint32_t n);
/* out[0..n) = a uniformly random permutation of 0..n-1 (Fisher–Yates). n < 2^32. */
void mtn_rng_permutation(mtn_rng *r, uint32_t n, uint32_t *out);

/* Stream ids used across modules, so two uses of one seed never share draws. */
enum { MTN_STREAM_INIT = 1, MTN_STREAM_SHUFFLE = 2, MTN_STREAM_AUGMENT = 3,
       MTN_STREAM_DROPOUT = 4, MTN_STREAM_MIXUP = 5, MTN_STREAM_MINING = 6,
       MTN_STREAM_PHANTOM = 7, MTN_STREAM_NMF = 8, MTN_STREAM_RETRY = 9 };

/* -------------------------------------------------------- volumes and labels --- */

/* A box of voxels, half-open on each axis, in the voxel grid of some resolution.
 * Arrays over a box are C order (z, y, x): x fastest. */
typedef struct { int64_t x0, x1, y0, y1, z0, z1; } mtn_box;
static inline int64_t mtn_box_nx(const mtn_box *b) { return b->x1 - b->x0; }
static inline int64_t mtn_box_ny(const mtn_box *b) { return b->y1 - b->y0; }
static inline int64_t mtn_box_nz(const mtn_box *b) { return b->z1 - b->z0; }
/* Voxel count; false when the box is empty, inverted or the count overflows. */
bool mtn_box_voxels(const mtn_box *b, int64_t *out);

/* MTNeuro's label conventions (reference-implementation.md §3). ROI (brain area)
 * values of the roi_labels channel: */
enum { MTN_ROI_CLEAR = 0, MTN_ROI_CORTEX = 1, MTN_ROI_STRIATUM = 2, MTN_ROI_TRN = 3, MTN_ROI_VP = 4,
       MTN_ROI_ZI = 5, MTN_ROI_INTERNAL_CAPSULE = 6, MTN_ROI_HYPOTHALAMUS = 7,
       MTN_ROI_CORPUS_CALLOSUM = 8, MTN_ROI_COUNT = 9 };
/* Microstructure values of the pixel_labels channel: */
enum { MTN_PIX_BACKGROUND = 0, MTN_PIX_VESSEL = 1, MTN_PIX_CELL = 2, MTN_PIX_AXON = 3, MTN_PIX_COUNT = 4 };

/* snprintf that reports truncation: MTN_EUSAGE ("path too long: ...") when the
 * result does not fit in size bytes (buf then holds a truncated string). */
int mtn_format_path(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* -------------------------------------------------------------- fixed tree --- */

/* The fixed binary tree in which every sum over samples is combined (design §4), on
 * n arrays of count floats given in index order: adjacent pairs first, then pairs of
 * pairs, a leftover carried up, and the remaining roots added left (older, higher)
 * to right — a binary counter. nn's mtn_exec_reduce combines its leaves by this
 * rule, and ranks combine their shares by it, so a power-of-two block of leaves is a
 * subtree. The parts are overwritten; returns the index of the part that holds the
 * sum. */
int mtn_tree_sum(float *const *parts, int n, size_t count);

/* ------------------------------------------------------------------ suggest --- */

/* Case-insensitive edit distance (insert, delete, substitute, swap adjacent). */
int mtn_edit_distance(const char *a, const char *b);
/* "Did you mean": the candidate closest to `word`, or NULL when none is close enough
 * (distance at most 2, a third of the word's length for long words, 1 for short). */
const char *mtn_suggest(const char *word, const char *const *candidates, size_t n);

/* ------------------------------------------------------------------ version --- */

/* "0.1.0" and the git commit the build came from ("unknown" outside git). */
const char *mtn_version(void);
const char *mtn_git_commit(void);

#endif
