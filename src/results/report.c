/* report.c — `mtneuro report`: the paper's table layout filled from result archives,
 * our mean ± std beside the paper's value, as Markdown (with a detail block per run),
 * CSV or JSON. A run's method picks its table (segment: Table 2, readout: Table 3,
 * the Task 1 methods: the archive's table when it is Table 1, A3 or none, else
 * Table 1), so one archive may fill several tables, each with only its own runs and
 * their columns; Table 1's title gives the downsampling of its runs' tasks. A run whose row is
 * "" is a unit of a search: not a table row, but it keeps its detail block. A table
 * is a list of cells (one number of one run: accuracy, or an entry of a per-class or
 * per-feature metric), cut into blocks that Markdown prints as one grid each; CSV
 * and JSON print the cells one by one:
 *   Table 1, A3: the paper's rows x columns, accuracy;
 *   Table 2: per column (3-class, 4-class ...), the U-Net rows x classes + Avg, each
 *     grid cell F1 / IoU pooled over the test pixels beside the paper's; then the
 *     same per-image averaged, ours only;
 *   Table 3: per column (ROI-C1, ROI-C3), the paper's rows x features, in-sample R²
 *     beside the paper's; then held-out R², ours only;
 *   other tables: a row per run with its accuracy. */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/results.h"
#include "paper_values.h"

#define PAPER_SEEDS 5
#define ACCURACY (-1) /* cell.vector: the scalar accuracy rather than an mtn_vector */

/* One number of a table: a row and column, the run that fills it (or none). */
typedef struct {
    mtn_table table;
    const char *row, *column;     /* column: the run's ("ROI-C1", "3-class") */
    int vector, index;            /* ACCURACY, or an mtn_vector's entry (MTN_VECTOR_MEAN: the mean over them) */
    const char *label;            /* its heading in Markdown: the column, a class, a feature, "Avg" */
    const char *paper_column;     /* the paper's column to look its value up in (NULL: none) */
    const mtn_archive *archive;   /* NULL: no run for this cell */
    const mtn_run_result *run;
    int n;
    double mean, std;             /* over the finished seeds */
    bool has_paper;
    double paper_mean, paper_std;
} cell;

/* A Markdown grid: n_rows x n_cols grid cells of `per` cells each (F1 and IoU: 2),
 * row by row, starting at cell `first`. */
typedef struct {
    char title[256];              /* a line above it, "" for none */
    const char *corner;           /* the heading of the row names */
    int first, n_rows, n_cols, per;
    bool paper;                   /* the paper's value beside each of ours */
} block;

typedef struct {
    cell *cells;
    int n, cap;
    block *blocks;
    int n_blocks, cap_blocks;
} layout;

static int add_cell(layout *l, const cell *c) {
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 32;
        cell *p = realloc(l->cells, sizeof *p * (size_t)cap);
        if (!p) return mtn_error_set(MTN_ENOMEM, "report: out of memory");
        l->cells = p;
        l->cap = cap;
    }
    l->cells[l->n++] = *c;
    return MTN_OK;
}

static int add_block(layout *l, const block *b) {
    if (l->n_blocks == l->cap_blocks) {
        int cap = l->cap_blocks ? 2 * l->cap_blocks : 8;
        block *p = realloc(l->blocks, sizeof *p * (size_t)cap);
        if (!p) return mtn_error_set(MTN_ENOMEM, "report: out of memory");
        l->blocks = p;
        l->cap_blocks = cap;
    }
    l->blocks[l->n_blocks++] = *b;
    return MTN_OK;
}

static void free_layout(layout *l) {
    free(l->cells);
    free(l->blocks);
}

/* a search's unit (one grid point or mixup value): its row is "" */
static bool is_search_unit(const mtn_run_result *r) { return r->row[0] == '\0'; }

/* the row a run fills, or what its detail block calls it */
static const char *run_row(const mtn_run_result *r) { return is_search_unit(r) ? "search unit" : r->row; }

/* the table run r of archive a belongs to: by its method */
static mtn_table run_table(const mtn_archive *a, const mtn_run_result *r) {
    if (r->method == MTN_METHOD_SEGMENT) return MTN_TABLE_2;
    if (r->method == MTN_METHOD_READOUT) return MTN_TABLE_3;
    /* a Task 1 method; a job without a paper's table keeps its plain list */
    bool task1 = a->table == MTN_TABLE_1 || a->table == MTN_TABLE_A3 || a->table == MTN_TABLE_NONE;
    return task1 ? a->table : MTN_TABLE_1;
}

/* run r of archive a is one of table t's rows (not only a detail block) */
static bool is_row_of(mtn_table t, const mtn_archive *a, const mtn_run_result *r) {
    return run_table(a, r) == t && !is_search_unit(r);
}

/* archive a shows in table t: a run of it does, or (none at all) its job names t */
static bool archive_in_table(mtn_table t, const mtn_archive *a) {
    for (int k = 0; k < a->n_runs; k++)
        if (run_table(a, &a->runs[k]) == t) return true;
    return a->n_runs == 0 && a->table == t;
}

static bool is_ok(const mtn_run_result *r) { return strcmp(r->status, "ok") == 0; }

/* decimals of our numbers (the paper gives Table 2's stds to 3) */
static int our_digits(mtn_table t) { return t == MTN_TABLE_2 ? 3 : 2; }
static int paper_std_digits(mtn_table t) { return t == MTN_TABLE_2 ? 3 : 2; }

static const char *table_title(mtn_table t) {
    switch (t) {
    case MTN_TABLE_1: return "Table 1 — Task 1 (brain region) accuracy";
    case MTN_TABLE_A3: return "Table A3 — Task 1 accuracy on ROI-C1 by downsampling";
    case MTN_TABLE_2: return "Table 2 — Task 2 (microstructure segmentation), F1 / IoU per class";
    case MTN_TABLE_3: return "Table 3 — Task 3 (semantic features), R² of a linear readout";
    case MTN_TABLE_NONE: break;
    }
    return "Runs";
}

static const char *table_note(mtn_table t) {
    switch (t) {
    case MTN_TABLE_1:
    case MTN_TABLE_A3:
        return "Ours: accuracy, mean ± sample std (n − 1) over the seeds that finished; n shown when not 5. "
               "Paper: MTNeuro (2022), mean ± std over 5 seeds.";
    case MTN_TABLE_2:
        return "Ours: F1 / IoU of each class on the test split, mean ± sample std (n − 1) over the seeds that "
               "finished; Avg: each seed's unweighted mean over the classes, background included, then mean ± std "
               "over the seeds; n shown when not 5. Paper: MTNeuro (2022) Table 2 (per class without a std) and "
               "the project website (Avg, mean ± std over 5 seeds); the paper does not say whether it pooled the "
               "pixels or averaged per image.";
    case MTN_TABLE_3:
        return "Ours: R² of a linear readout of each feature from the frozen encoder's embeddings, mean ± sample "
               "std (n − 1) over the seeds that finished; n shown when not 5. In sample: fit and scored on all "
               "samples, as the paper; held out: fit on the training slices, scored on the test slices. Paper: "
               "MTNeuro (2022) Table 3, with the project website's std for ROI-C1 (none for ROI-C3, PCA, NMF).";
    case MTN_TABLE_NONE: break;
    }
    return "Ours: accuracy, mean ± sample std (n − 1) over the seeds that finished.";
}

/* the metric of c as CSV and JSON name it: "accuracy", "mean_f1", "f1:Vessels" */
static void metric_text(const cell *c, char *buf, size_t size) {
    if (c->vector == ACCURACY) snprintf(buf, size, "accuracy");
    else if (c->index == MTN_VECTOR_MEAN) snprintf(buf, size, "%s", mtn_vector_mean_name((mtn_vector)c->vector));
    else snprintf(buf, size, "%s:%s", mtn_vector_name((mtn_vector)c->vector), c->label);
}

/* fills the numbers of c from its run and the paper */
static void fill_cell(cell *c) {
    c->n = 0;
    c->mean = c->std = NAN;
    if (c->run && c->vector == ACCURACY) c->n = mtn_run_summary(c->run, MTN_METRIC_ACCURACY, &c->mean, &c->std);
    else if (c->run) c->n = mtn_run_vector_summary(c->run, (mtn_vector)c->vector, c->index, &c->mean, &c->std);
    const char *metric = c->vector == ACCURACY ? "accuracy" : mtn_vector_name((mtn_vector)c->vector);
    c->has_paper = c->paper_column &&
                   mtn_paper_value(c->table, c->row, c->paper_column, metric, c->index, &c->paper_mean, &c->paper_std);
}

/* adds s to the list of distinct strings (names point into the archives) */
static int add_name(const char ***names, int *n, const char *s) {
    for (int i = 0; i < *n; i++)
        if (strcmp((*names)[i], s) == 0) return MTN_OK;
    const char **p = realloc(*names, sizeof *p * (size_t)(*n + 1));
    if (!p) return mtn_error_set(MTN_ENOMEM, "report: out of memory");
    p[(*n)++] = s;
    *names = p;
    return MTN_OK;
}

/* which of the paper's names a table shows */
typedef enum {
    PAPER_ALL,            /* all of them, with a run or not */
    PAPER_PRESENT_OR_ALL, /* those with a run, or all when none has */
    PAPER_PRESENT         /* those with a run */
} paper_names;

/* the paper's names first, then the others in the order the archives give them */
static int layout_names(const char *const *paper, int n_paper, paper_names which, const char **found, int n_found,
                        const char ***out, int *n_out) {
    *out = NULL;
    *n_out = 0;
    int rc = MTN_OK, present = 0;
    for (int i = 0; i < n_paper; i++)
        for (int j = 0; j < n_found; j++) present += strcmp(paper[i], found[j]) == 0;
    for (int i = 0; i < n_paper && !rc; i++) {
        bool here = which == PAPER_ALL || (which == PAPER_PRESENT_OR_ALL && present == 0);
        for (int j = 0; j < n_found && !here; j++) here = strcmp(paper[i], found[j]) == 0;
        if (here) rc = add_name(out, n_out, paper[i]);
    }
    for (int j = 0; j < n_found && !rc; j++) rc = add_name(out, n_out, found[j]);
    return rc;
}

/* the run of table t at (row, column): the first that finished, else the first at all */
static const mtn_run_result *find_run(mtn_table t, const mtn_archive *archives, int n, const char *row,
                                      const char *column, const mtn_archive **archive) {
    const mtn_run_result *found = NULL;
    *archive = NULL;
    for (int a = 0; a < n; a++)
        for (int k = 0; k < archives[a].n_runs; k++) {
            const mtn_run_result *r = &archives[a].runs[k];
            if (!is_row_of(t, &archives[a], r) || strcmp(r->row, row) != 0 || strcmp(r->column, column) != 0) continue;
            if (!found || (!is_ok(found) && is_ok(r))) {
                found = r;
                *archive = &archives[a];
            }
        }
    return found;
}

/* Table 2's classes in `column`: the most of its runs' seeds, else the count its name
 * begins with ("4-class without ZI") */
static int column_classes(const mtn_archive *archives, int n, const char *column) {
    int K = 0;
    for (int a = 0; a < n; a++)
        for (int k = 0; k < archives[a].n_runs; k++) {
            const mtn_run_result *r = &archives[a].runs[k];
            bool here = is_row_of(MTN_TABLE_2, &archives[a], r) && strcmp(r->column, column) == 0;
            for (int i = 0; here && i < r->n_seeds; i++)
                if (r->seeds[i].classes > K) K = r->seeds[i].classes;
        }
    if (K == 0 && column[0] >= '1' && column[0] <= '8' && strncmp(column + 1, "-class", 6) == 0) K = column[0] - '0';
    return K > MTN_MAX_CLASSES ? MTN_MAX_CLASSES : K;
}

/* What a grid is cut from: table t's rows of the archives, for one run column. */
typedef struct {
    mtn_table t;
    const mtn_archive *archives;
    int n;
    const char *const *rows;
    int n_rows;
    const char *column;           /* the run column of every cell; NULL: the grid column's label */
    const char *paper_column;
} grid_spec;

/* the cells of one grid: every row x each grid column (labels[j]) x b.per vectors,
 * entry index[j] of each (index NULL: accuracy); without g->column, the grid's
 * columns are run columns */
static int add_grid(layout *l, const grid_spec *g, block b, const char *const *labels, const int *index, int n_cols,
                    const int *vectors) {
    b.first = l->n;
    b.n_rows = g->n_rows;
    b.n_cols = n_cols;
    int rc = add_block(l, &b);
    for (int i = 0; i < g->n_rows && !rc; i++)
        for (int j = 0; j < n_cols && !rc; j++)
            for (int k = 0; k < b.per && !rc; k++) {
                const char *column = g->column ? g->column : labels[j];
                cell c = {.table = g->t, .row = g->rows[i], .column = column, .vector = vectors[k],
                          .index = index ? index[j] : MTN_VECTOR_MEAN, .label = labels[j],
                          .paper_column = g->column ? g->paper_column : column};
                c.run = find_run(g->t, g->archives, g->n, c.row, c.column, &c.archive);
                fill_cell(&c);
                rc = add_cell(l, &c);
            }
    return rc;
}

/* Table 2 for one column: pooled F1 / IoU beside the paper's, then per image */
static int segmentation_grids(layout *l, grid_spec *g) {
    static const char *const numbered[MTN_MAX_CLASSES] = {"class 0", "class 1", "class 2", "class 3",
                                                          "class 4", "class 5", "class 6", "class 7"};
    int K = column_classes(g->archives, g->n, g->column);
    const char *const *names;
    if (!mtn_paper_classes(K, &names, &g->paper_column)) names = numbered;
    const char *labels[MTN_MAX_CLASSES + 1];
    int index[MTN_MAX_CLASSES + 1];
    for (int k = 0; k < K; k++) {
        labels[k] = names[k];
        index[k] = k;
    }
    labels[K] = "Avg";
    index[K] = MTN_VECTOR_MEAN;
    char classes[160] = "";
    for (int k = 0; k < K; k++)
        snprintf(classes + strlen(classes), sizeof classes - strlen(classes), "%s%s", k ? ", " : "", names[k]);
    block b = {.corner = "model", .per = 2, .paper = true};
    snprintf(b.title, sizeof b.title, "**%s** (%s): F1 / IoU on the test split, pooled over all test pixels",
             g->column, classes);
    int rc = add_grid(l, g, b, labels, index, K + 1, (const int[]){MTN_VECTOR_F1, MTN_VECTOR_IOU});
    b.paper = false;
    snprintf(b.title, sizeof b.title,
             "**%s**, per image: F1 / IoU of each test image averaged over the images (the original code's \"old\" "
             "metrics; a class absent from both truth and prediction scores 1)",
             g->column);
    if (!rc) rc = add_grid(l, g, b, labels, index, K + 1, (const int[]){MTN_VECTOR_F1_IMAGE, MTN_VECTOR_IOU_IMAGE});
    return rc;
}

/* Table 3 for one column: in-sample R² beside the paper's, then held out */
static int readout_grids(layout *l, grid_spec *g) {
    const char *const *labels;
    int F = mtn_paper_features(&labels), index[MTN_MAX_FEATURES];
    for (int k = 0; k < F; k++) index[k] = k;
    g->paper_column = g->column;
    block b = {.corner = "method", .per = 1, .paper = true};
    snprintf(b.title, sizeof b.title, "**%s**: R² in sample (fit and scored on all samples)", g->column);
    int rc = add_grid(l, g, b, labels, index, F, (const int[]){MTN_VECTOR_R2});
    b.paper = false;
    snprintf(b.title, sizeof b.title, "**%s**: R² held out (fit on the training slices, scored on the test slices)",
             g->column);
    if (!rc) rc = add_grid(l, g, b, labels, index, F, (const int[]){MTN_VECTOR_R2_HELDOUT});
    return rc;
}

/* the cells of table t: a grid per block in the paper's layout, or one cell per run */
static int table_layout(mtn_table t, const mtn_archive *archives, int n, layout *l) {
    int rc = MTN_OK;
    if (t == MTN_TABLE_NONE) {
        for (int a = 0; a < n && !rc; a++)
            for (int i = 0; i < archives[a].n_runs && !rc; i++) {
                const mtn_run_result *r = &archives[a].runs[i];
                if (!is_row_of(t, &archives[a], r)) continue;
                cell c = {.table = t, .row = run_row(r), .column = r->column, .vector = ACCURACY,
                          .index = MTN_VECTOR_MEAN, .label = r->column, .archive = &archives[a], .run = r};
                fill_cell(&c);
                rc = add_cell(l, &c);
            }
        return rc;
    }
    const char **rows_found = NULL, **cols_found = NULL, **rows = NULL, **cols = NULL;
    int n_rows_found = 0, n_cols_found = 0, n_rows = 0, n_cols = 0;
    for (int a = 0; a < n && !rc; a++)
        for (int i = 0; i < archives[a].n_runs && !rc; i++) {
            const mtn_run_result *r = &archives[a].runs[i];
            if (!is_row_of(t, &archives[a], r)) continue;
            rc = add_name(&rows_found, &n_rows_found, r->row);
            if (!rc) rc = add_name(&cols_found, &n_cols_found, r->column);
        }
    const char *const *paper_rows, *const *paper_cols;
    int npr = mtn_paper_rows(t, &paper_rows), npc = mtn_paper_columns(t, &paper_cols);
    /* every paper row always, but Table 2's (the U-Nets) only when run; Table 2's
     * columns are the archives' own ("4-class without ZI") */
    paper_names which_rows = t == MTN_TABLE_2 ? PAPER_PRESENT : PAPER_ALL;
    if (!rc) rc = layout_names(paper_rows, npr, which_rows, rows_found, n_rows_found, &rows, &n_rows);
    if (!rc)
        rc = layout_names(paper_cols, t == MTN_TABLE_2 ? 0 : npc, PAPER_PRESENT_OR_ALL, cols_found, n_cols_found,
                          &cols, &n_cols);
    grid_spec g = {.t = t, .archives = archives, .n = n, .rows = rows, .n_rows = n_rows};
    if (!rc && (t == MTN_TABLE_1 || t == MTN_TABLE_A3)) {
        block b = {.corner = "method", .per = 1, .paper = true};
        rc = add_grid(l, &g, b, cols, NULL, n_cols, (const int[]){ACCURACY});
    }
    for (int j = 0; !rc && j < n_cols && (t == MTN_TABLE_2 || t == MTN_TABLE_3); j++) {
        g.column = cols[j];
        rc = t == MTN_TABLE_2 ? segmentation_grids(l, &g) : readout_grids(l, &g);
    }
    free(rows_found);
    free(cols_found);
    free(rows);
    free(cols);
    return rc;
}

/* ------------------------------------------------------------------ Markdown --- */

/* text in a Markdown table cell: '|' escaped, line breaks as spaces */
static void md_text(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", out);
        else if (*s == '\n' || *s == '\r') fputc(' ', out);
        else fputc(*s, out);
    }
}

static void md_mean_std(FILE *out, double mean, double std, int mean_digits, int std_digits) {
    if (isnan(mean)) fputs("NaN", out); /* a seed's NaN (a class never seen), carried through */
    else if (isnan(std)) fprintf(out, "%.*f", mean_digits, mean);
    else fprintf(out, "%.*f ± %.*f", mean_digits, mean, std_digits, std);
}

/* ours: "0.88 ± 0.02", several joined by " / ", then "(n=3)" when not the paper's 5
 * seeds; "—" and why when empty */
static void md_ours(FILE *out, const cell *c, int per) {
    if (!c->run) {
        fputs("— (no run)", out);
    } else if (c->n == 0) {
        fputs("— (", out);
        if (!is_ok(c->run)) md_text(out, c->run->status);
        else if (c->vector != ACCURACY && c->run->method != mtn_vector_method((mtn_vector)c->vector))
            fprintf(out, "a %s run", mtn_method_name(c->run->method));
        else fputs("no seed finished", out);
        fputs(")", out);
    } else {
        int digits = our_digits(c->table);
        for (int k = 0; k < per; k++) {
            if (k) fputs(" / ", out);
            md_mean_std(out, c[k].mean, c[k].std, digits, digits);
        }
        if (c->n != PAPER_SEEDS) fprintf(out, " (n=%d)", c->n);
    }
}

static void md_paper(FILE *out, const cell *c, int per) {
    if (!c->has_paper) {
        fputs("—", out);
        return;
    }
    for (int k = 0; k < per; k++) {
        if (k) fputs(" / ", out);
        md_mean_std(out, c[k].paper_mean, c[k].paper_std, 2, paper_std_digits(c->table));
    }
}

static void md_sources(FILE *out, mtn_table t, const mtn_archive *archives, int n) {
    fputs("Archives:\n", out);
    for (int a = 0; a < n; a++) {
        const mtn_archive *x = &archives[a];
        if (!archive_in_table(t, x)) continue;
        fprintf(out, "- job %s", x->job_name[0] ? x->job_name : "(unnamed)");
        if (x->job_file[0]) fprintf(out, " (%s)", x->job_file);
        fprintf(out, ", created %s, mtneuro %s (%s), source %s, %d rank%s (%s), %d thread%s, host %s\n", x->created,
                x->mtneuro_version, x->git_commit, x->source[0] ? x->source : "?", x->world_size,
                x->world_size == 1 ? "" : "s", x->layout[0] ? x->layout : "one seed at a time", x->threads,
                x->threads == 1 ? "" : "s", x->host);
    }
    fputc('\n', out);
}

/* one grid: a row per table row, "label (ours) | label (paper)" per column */
static void md_block(FILE *out, const cell *cells, const block *b) {
    if (b->title[0]) fprintf(out, "%s\n\n", b->title);
    const cell *first = &cells[b->first];
    fprintf(out, "| %s |", b->corner);
    for (int j = 0; j < b->n_cols; j++) {
        fputc(' ', out);
        md_text(out, first[j * b->per].label);
        fputs(b->paper ? " (ours) | " : " |", out);
        if (b->paper) {
            md_text(out, first[j * b->per].label);
            fputs(" (paper) |", out);
        }
    }
    fputs("\n|---|", out);
    for (int j = 0; j < b->n_cols; j++) fputs(b->paper ? "---|---|" : "---|", out);
    fputc('\n', out);
    for (int i = 0; i < b->n_rows; i++) {
        const cell *row = &first[i * b->n_cols * b->per];
        fputs("| ", out);
        md_text(out, row->row);
        fputs(" |", out);
        for (int j = 0; j < b->n_cols; j++) {
            fputc(' ', out);
            md_ours(out, &row[j * b->per], b->per);
            if (b->paper) {
                fputs(" | ", out);
                md_paper(out, &row[j * b->per], b->per);
            }
            fputs(" |", out);
        }
        fputc('\n', out);
    }
    fputc('\n', out);
}

static void md_generic_table(FILE *out, const cell *cells, int n_cells) {
    fputs("| run | row | column | accuracy (ours) | n | status |\n|---|---|---|---|---|---|\n", out);
    for (int i = 0; i < n_cells; i++) {
        const cell *c = &cells[i];
        fputs("| ", out);
        md_text(out, c->run->name);
        fputs(" | ", out);
        md_text(out, c->row);
        fputs(" | ", out);
        md_text(out, c->column);
        fputs(" | ", out);
        if (c->n) md_mean_std(out, c->mean, c->std, 2, 2);
        else fputs("—", out);
        fprintf(out, " | %d | ", c->n);
        md_text(out, c->run->status);
        fputs(" |\n", out);
    }
    fputc('\n', out);
}

/* "- name: m ± s; per seed: 1: x, 100: did not finish" of a scalar per seed */
static void md_per_seed(FILE *out, const mtn_run_result *r, const char *name, int vector, int index) {
    double mean, std;
    if (vector == ACCURACY) mtn_run_summary(r, MTN_METRIC_ACCURACY, &mean, &std);
    else mtn_run_vector_summary(r, (mtn_vector)vector, index, &mean, &std);
    fprintf(out, "- %s: %.4f ± %.4f; per seed:", name, mean, std);
    for (int i = 0; i < r->n_seeds; i++) {
        const mtn_seed_result *s = &r->seeds[i];
        double mine = vector == ACCURACY ? s->accuracy : mtn_seed_vector_value(s, (mtn_vector)vector, index);
        if (s->ok == 1) fprintf(out, "%s %d: %.4f", i ? "," : "", s->seed, mine);
        else fprintf(out, "%s %d: did not finish", i ? "," : "", s->seed);
    }
    fputc('\n', out);
}

/* "- name (Vessels, Axons, ...): 0.7700 0.9400 ... ± ..." of a per-feature vector */
static void md_vector(FILE *out, const mtn_run_result *r, const char *name, mtn_vector v) {
    const char *const *labels;
    int F = mtn_paper_features(&labels);
    fprintf(out, "- %s:", name);
    for (int k = 0; k < F; k++) {
        double mean, std;
        mtn_run_vector_summary(r, v, k, &mean, &std);
        fprintf(out, "%s %s %.4f ± %.4f", k ? "," : "", labels[k], mean, std);
    }
    fputc('\n', out);
}

static void md_run_details(FILE *out, const mtn_archive *x, const mtn_run_result *r) {
    fprintf(out, "### %s — ", r->name);
    md_text(out, run_row(r));
    fputs(", ", out);
    md_text(out, r->column);
    fprintf(out, " (%s, job %s)\n\n", mtn_method_name(r->method), x->job_name);
    double mean, std;
    int n = mtn_run_summary(r, MTN_METRIC_ACCURACY, &mean, &std);
    fputs("- status: ", out);
    md_text(out, r->status);
    fprintf(out, "; %d seed%s, %d finished", r->n_seeds, r->n_seeds == 1 ? "" : "s", n);
    if (r->n_seeds) fputs(":", out);
    for (int i = 0; i < r->n_seeds; i++) fprintf(out, "%s %d", i ? "," : "", r->seeds[i].seed);
    fputc('\n', out);
    if (r->chosen[0]) {
        fputs("- chosen by the search: ", out);
        md_text(out, r->chosen);
        fputc('\n', out);
    }
    if (!n) {
        fputc('\n', out);
        return;
    }
    if (r->method == MTN_METHOD_SEGMENT) {
        md_per_seed(out, r, "mean F1 (pooled)", MTN_VECTOR_F1, MTN_VECTOR_MEAN);
        md_per_seed(out, r, "mean IoU (pooled)", MTN_VECTOR_IOU, MTN_VECTOR_MEAN);
        md_per_seed(out, r, "pixel accuracy", ACCURACY, 0);
    } else if (r->method == MTN_METHOD_READOUT) {
        md_vector(out, r, "R² in sample", MTN_VECTOR_R2);
        md_vector(out, r, "R² held out", MTN_VECTOR_R2_HELDOUT);
    } else {
        md_per_seed(out, r, "accuracy", ACCURACY, 0);
        mtn_run_summary(r, MTN_METRIC_QUADRANT_ACCURACY, &mean, &std);
        fprintf(out, "- quadrant accuracy: %.4f ± %.4f\n", mean, std);
    }
    double compute, comm, io, train, eval, unused;
    mtn_run_summary(r, MTN_METRIC_STEP_COMPUTE_S, &compute, &unused);
    mtn_run_summary(r, MTN_METRIC_STEP_COMM_S, &comm, &unused);
    mtn_run_summary(r, MTN_METRIC_STEP_IO_S, &io, &unused);
    mtn_run_summary(r, MTN_METRIC_TRAIN_SECONDS, &train, &unused);
    mtn_run_summary(r, MTN_METRIC_EVAL_SECONDS, &eval, &unused);
    fprintf(out, "- mean step time: compute %.4g s, comm %.4g s, io %.4g s; per seed: train %.4g s, eval %.4g s\n\n",
            compute, comm, io, train, eval);
}

/* the downsampling of a run's task ("downsample" in its task JSON), 0 when unknown */
static int run_downsample(const mtn_run_result *r) {
    cJSON *task = r->task_json ? cJSON_Parse(r->task_json) : NULL;
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(task, "downsample");
    int v = cJSON_IsNumber(d) && d->valuedouble >= 1 && d->valuedouble <= 1024 ? d->valueint : 0;
    cJSON_Delete(task);
    return v;
}

/* "4× downsampling" (long) or "4×"; 1: "full resolution" */
static void md_downsample(FILE *out, int d, bool long_form) {
    if (d == 1) fputs("full resolution", out);
    else fprintf(out, "%d×%s", d, long_form ? " downsampling" : "");
}

/* the largest downsampling of Table 1's rows below `below`; 0: none */
static int next_downsample(const mtn_archive *archives, int n, int below) {
    int most = 0;
    for (int a = 0; a < n; a++)
        for (int k = 0; k < archives[a].n_runs; k++) {
            const mtn_run_result *r = &archives[a].runs[k];
            int d = is_row_of(MTN_TABLE_1, &archives[a], r) ? run_downsample(r) : 0;
            if (d < below && d > most) most = d;
        }
    return most;
}

/* " (ROI-C1, ROI-C2)": the columns of Table 1's rows at downsampling d */
static int md_columns_at(FILE *out, const mtn_archive *archives, int n, int d) {
    const char **columns = NULL;
    int n_columns = 0, rc = MTN_OK;
    for (int a = 0; a < n && !rc; a++)
        for (int k = 0; k < archives[a].n_runs && !rc; k++) {
            const mtn_run_result *r = &archives[a].runs[k];
            if (is_row_of(MTN_TABLE_1, &archives[a], r) && run_downsample(r) == d)
                rc = add_name(&columns, &n_columns, r->column);
        }
    for (int j = 0; j < n_columns && !rc; j++) {
        fputs(j ? ", " : " (", out);
        md_text(out, columns[j]);
    }
    if (n_columns && !rc) fputs(")", out);
    free(columns);
    return rc;
}

/* the rest of Table 1's title, from our rows' tasks and the paper's: ", 2×
 * downsampling" when they agree, else ", ours at 4× downsampling; the paper's at
 * 2×", and when ours differ each with its columns: ", ours at 4× downsampling
 * (ROI-C1), 2× (ROI-C3); the paper's at 2×" */
static int md_downsampling(FILE *out, const mtn_archive *archives, int n) {
    int paper = mtn_paper_downsample(MTN_TABLE_1), most = next_downsample(archives, n, INT_MAX), rc = MTN_OK;
    bool differ = most && next_downsample(archives, n, most);
    if (!most || (!differ && most == paper)) {
        fputs(most ? ", " : "; the paper's at ", out);
        md_downsample(out, paper, true);
        return rc;
    }
    fputs(", ours at ", out);
    for (int d = most; d && !rc; d = next_downsample(archives, n, d)) {
        if (d != most) fputs(", ", out);
        md_downsample(out, d, d == most);
        if (differ) rc = md_columns_at(out, archives, n, d);
    }
    fputs("; the paper's at ", out);
    md_downsample(out, paper, false);
    return rc;
}

static int md_table(FILE *out, mtn_table t, const mtn_archive *archives, int n, const layout *l) {
    fprintf(out, "## %s", table_title(t));
    int rc = t == MTN_TABLE_1 ? md_downsampling(out, archives, n) : MTN_OK;
    fputs("\n\n", out);
    md_sources(out, t, archives, n);
    for (int b = 0; b < l->n_blocks; b++) md_block(out, l->cells, &l->blocks[b]);
    if (t == MTN_TABLE_NONE) md_generic_table(out, l->cells, l->n);
    fprintf(out, "%s\n\n", table_note(t));
    for (int a = 0; a < n; a++)
        for (int i = 0; i < archives[a].n_runs; i++) {
            const mtn_run_result *r = &archives[a].runs[i];
            if (run_table(&archives[a], r) == t) md_run_details(out, &archives[a], r);
        }
    return rc;
}

/* ---------------------------------------------------------------- CSV, JSON --- */

/* the shortest of %.15g and %.17g that reads back to v; empty for NaN */
static void csv_number(FILE *out, double v) {
    if (isnan(v)) return;
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    fputs(buf, out);
}

static void csv_text(FILE *out, const char *s) {
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"') fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_cell(FILE *out, const cell *c) {
    char metric[96];
    metric_text(c, metric, sizeof metric);
    const char *const texts[] = {mtn_table_name(c->table), c->row, c->column, metric};
    for (int k = 0; k < 4; k++) {
        csv_text(out, texts[k]);
        fputc(',', out);
    }
    csv_number(out, c->n ? c->mean : NAN);
    fputc(',', out);
    csv_number(out, c->n ? c->std : NAN);
    fprintf(out, ",%d,", c->n);
    csv_number(out, c->has_paper ? c->paper_mean : NAN);
    fputc(',', out);
    csv_number(out, c->has_paper ? c->paper_std : NAN);
    fputc('\n', out);
}

static void json_number(cJSON *o, const char *name, double v) {
    if (isnan(v)) cJSON_AddNullToObject(o, name);
    else cJSON_AddNumberToObject(o, name, v);
}

static cJSON *json_cell(const cell *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    char metric[96];
    metric_text(c, metric, sizeof metric);
    cJSON_AddStringToObject(o, "table", mtn_table_name(c->table));
    cJSON_AddStringToObject(o, "row", c->row);
    cJSON_AddStringToObject(o, "column", c->column);
    cJSON_AddStringToObject(o, "metric", metric);
    json_number(o, "ours_mean", c->n ? c->mean : NAN);
    json_number(o, "ours_std", c->n ? c->std : NAN);
    cJSON_AddNumberToObject(o, "n", c->n);
    json_number(o, "paper_mean", c->has_paper ? c->paper_mean : NAN);
    json_number(o, "paper_std", c->has_paper ? c->paper_std : NAN);
    cJSON_AddStringToObject(o, "status", c->run ? c->run->status : "no run");
    if (c->run) {
        cJSON_AddStringToObject(o, "run", c->run->name);
        cJSON_AddStringToObject(o, "job", c->archive->job_name);
    } else {
        cJSON_AddNullToObject(o, "run");
        cJSON_AddNullToObject(o, "job");
    }
    if (c->run && c->run->chosen[0]) cJSON_AddStringToObject(o, "chosen", c->run->chosen);
    else cJSON_AddNullToObject(o, "chosen");
    return o;
}

/* --------------------------------------------------------------------- entry --- */

int mtn_report(FILE *out, const mtn_archive *archives, int n, mtn_report_format format) {
    if (n <= 0 || !archives) return mtn_error_set(MTN_EUSAGE, "report: no result archives");
    /* the tables with runs: archive by archive, the one its job names first, then its
     * runs' others in the order of the runs */
    mtn_table tables[MTN_TABLE_3 + 1];
    int n_tables = 0;
    for (int a = 0; a < n; a++)
        for (int k = -1; k < archives[a].n_runs; k++) {
            mtn_table t = k < 0 ? archives[a].table : run_table(&archives[a], &archives[a].runs[k]);
            bool seen = !archive_in_table(t, &archives[a]);
            for (int j = 0; j < n_tables; j++) seen |= tables[j] == t;
            if (!seen) tables[n_tables++] = t;
        }
    cJSON *json = format == MTN_REPORT_JSON ? cJSON_CreateArray() : NULL;
    int rc = format == MTN_REPORT_JSON && !json ? mtn_error_set(MTN_ENOMEM, "report: out of memory") : MTN_OK;
    if (!rc && format == MTN_REPORT_CSV) fputs("table,row,column,metric,ours_mean,ours_std,n,paper_mean,paper_std\n", out);
    for (int k = 0; k < n_tables && !rc; k++) {
        layout l = {0};
        rc = table_layout(tables[k], archives, n, &l);
        if (!rc && format == MTN_REPORT_MD) rc = md_table(out, tables[k], archives, n, &l);
        for (int i = 0; !rc && format == MTN_REPORT_CSV && i < l.n; i++) csv_cell(out, &l.cells[i]);
        for (int i = 0; !rc && format == MTN_REPORT_JSON && i < l.n; i++) {
            cJSON *o = json_cell(&l.cells[i]);
            if (!o) rc = mtn_error_set(MTN_ENOMEM, "report: out of memory");
            else cJSON_AddItemToArray(json, o);
        }
        free_layout(&l);
    }
    if (!rc && json) {
        char *text = cJSON_Print(json);
        if (!text) rc = mtn_error_set(MTN_ENOMEM, "report: out of memory");
        else {
            fputs(text, out);
            fputc('\n', out);
            cJSON_free(text);
        }
    }
    cJSON_Delete(json);
    if (!rc && (fflush(out) != 0 || ferror(out))) rc = mtn_error_set(MTN_EIO, "report: cannot write the report");
    return rc;
}
