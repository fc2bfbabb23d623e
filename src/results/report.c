/* report.c — `mtneuro report`: the paper's table layout filled from result archives,
 * our mean ± std beside the paper's value, as Markdown (with a detail block per run),
 * CSV or JSON. Table 1 and Table A3 have the paper's rows and columns; other tables
 * (Task 2 and 3 come later) a row per run with its accuracy. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mtn/results.h"
#include "paper_values.h"

#define PAPER_SEEDS 5

/* One cell of a table: a row and column, the run that fills it (or none). */
typedef struct {
    mtn_table table;
    const char *row, *column;
    const mtn_archive *archive;   /* NULL: no run for this cell */
    const mtn_run_result *run;
    int n;
    double mean, std;             /* of accuracy over the finished seeds */
    bool has_paper;
    double paper_mean, paper_std;
} cell;

typedef struct {
    cell *cells;
    int n, cap;
} cell_list;

static int add_cell(cell_list *l, const cell *c) {
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

static const char *run_row(const mtn_run_result *r) { return r->row[0] ? r->row : mtn_method_row_label(r->method); }

static bool is_ok(const mtn_run_result *r) { return strcmp(r->status, "ok") == 0; }

static bool fixed_layout(mtn_table t) { return t == MTN_TABLE_1 || t == MTN_TABLE_A3; }

static const char *table_title(mtn_table t) {
    switch (t) {
    case MTN_TABLE_1: return "Table 1 — Task 1 (brain region) accuracy, 2× downsampling";
    case MTN_TABLE_A3: return "Table A3 — Task 1 accuracy on ROI-C1 by downsampling";
    case MTN_TABLE_2: return "Table 2 — Task 2 (microstructure segmentation)";
    case MTN_TABLE_3: return "Table 3 — Task 3 (semantic features, linear readout)";
    case MTN_TABLE_NONE: break;
    }
    return "Runs";
}

/* fills the numbers of c from its run and the paper */
static void fill_cell(cell *c) {
    c->n = 0;
    c->mean = c->std = NAN;
    if (c->run) c->n = mtn_run_summary(c->run, MTN_METRIC_ACCURACY, &c->mean, &c->std);
    c->has_paper = mtn_paper_value(c->table, c->row, c->column, &c->paper_mean, &c->paper_std);
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

/* the paper's names first (those present, or all when none is), then the others
 * in the order the archives give them */
static int layout_names(const char *const *paper, int n_paper, const char **found, int n_found, const char ***out,
                        int *n_out) {
    *out = NULL;
    *n_out = 0;
    int rc = MTN_OK, present = 0;
    for (int i = 0; i < n_paper; i++)
        for (int j = 0; j < n_found; j++) present += strcmp(paper[i], found[j]) == 0;
    for (int i = 0; i < n_paper && !rc; i++) {
        bool here = present == 0;
        for (int j = 0; j < n_found && !here; j++) here = strcmp(paper[i], found[j]) == 0;
        if (here) rc = add_name(out, n_out, paper[i]);
    }
    for (int j = 0; j < n_found && !rc; j++) rc = add_name(out, n_out, found[j]);
    return rc;
}

/* the cells of table t: the paper's layout, or one per run */
static int table_cells(mtn_table t, const mtn_archive *archives, int n, cell_list *cells) {
    int rc = MTN_OK;
    if (!fixed_layout(t)) {
        for (int a = 0; a < n && !rc; a++) {
            if (archives[a].table != t) continue;
            for (int i = 0; i < archives[a].n_runs && !rc; i++) {
                const mtn_run_result *r = &archives[a].runs[i];
                cell c = {.table = t, .row = run_row(r), .column = r->column, .archive = &archives[a], .run = r};
                fill_cell(&c);
                rc = add_cell(cells, &c);
            }
        }
        return rc;
    }
    const char **rows_found = NULL, **cols_found = NULL, **rows = NULL, **cols = NULL;
    int n_rows_found = 0, n_cols_found = 0, n_rows = 0, n_cols = 0;
    for (int a = 0; a < n && !rc; a++)
        for (int i = 0; archives[a].table == t && i < archives[a].n_runs && !rc; i++) {
            rc = add_name(&rows_found, &n_rows_found, run_row(&archives[a].runs[i]));
            if (!rc) rc = add_name(&cols_found, &n_cols_found, archives[a].runs[i].column);
        }
    const char *const *paper_rows, *const *paper_cols;
    int npr = mtn_paper_rows(t, &paper_rows), npc = mtn_paper_columns(t, &paper_cols);
    for (int i = 0; i < npr && !rc; i++) rc = add_name(&rows, &n_rows, paper_rows[i]); /* every paper row, always */
    for (int i = 0; i < n_rows_found && !rc; i++) rc = add_name(&rows, &n_rows, rows_found[i]);
    if (!rc) rc = layout_names(paper_cols, npc, cols_found, n_cols_found, &cols, &n_cols);
    for (int i = 0; i < n_rows && !rc; i++)
        for (int j = 0; j < n_cols && !rc; j++) {
            cell c = {.table = t, .row = rows[i], .column = cols[j]};
            /* the first run of this cell that finished, else the first at all */
            for (int a = 0; a < n; a++)
                for (int k = 0; archives[a].table == t && k < archives[a].n_runs; k++) {
                    const mtn_run_result *r = &archives[a].runs[k];
                    if (strcmp(run_row(r), c.row) != 0 || strcmp(r->column, c.column) != 0) continue;
                    if (!c.run || (!is_ok(c.run) && is_ok(r))) {
                        c.run = r;
                        c.archive = &archives[a];
                    }
                }
            fill_cell(&c);
            rc = add_cell(cells, &c);
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

static void md_mean_std(FILE *out, double mean, double std) {
    if (isnan(std)) fprintf(out, "%.2f", mean);
    else fprintf(out, "%.2f ± %.2f", mean, std);
}

/* ours: "0.88 ± 0.02", "(n=3)" when not the paper's 5 seeds; "—" and why when empty */
static void md_ours(FILE *out, const cell *c) {
    if (!c->run) {
        fputs("— (no run)", out);
    } else if (c->n == 0) {
        fputs("— (", out);
        md_text(out, is_ok(c->run) ? "no seed finished" : c->run->status);
        fputs(")", out);
    } else {
        md_mean_std(out, c->mean, c->std);
        if (c->n != PAPER_SEEDS) fprintf(out, " (n=%d)", c->n);
    }
}

static void md_paper(FILE *out, const cell *c) {
    if (c->has_paper) md_mean_std(out, c->paper_mean, c->paper_std);
    else fputs("—", out);
}

static void md_sources(FILE *out, mtn_table t, const mtn_archive *archives, int n) {
    fputs("Archives:\n", out);
    for (int a = 0; a < n; a++) {
        const mtn_archive *x = &archives[a];
        if (x->table != t) continue;
        fprintf(out, "- job %s", x->job_name[0] ? x->job_name : "(unnamed)");
        if (x->job_file[0]) fprintf(out, " (%s)", x->job_file);
        fprintf(out, ", created %s, mtneuro %s (%s), source %s, %d rank%s (%s), %d thread%s, host %s\n", x->created,
                x->mtneuro_version, x->git_commit, x->source[0] ? x->source : "?", x->world_size,
                x->world_size == 1 ? "" : "s", x->layout[0] ? x->layout : "one seed at a time", x->threads,
                x->threads == 1 ? "" : "s", x->host);
    }
    fputc('\n', out);
}

static void md_fixed_table(FILE *out, const cell *cells, int n_cells) {
    /* the columns: cells come row by row, so the first row's cells name them */
    if (n_cells == 0) return;
    int n_cols = 0;
    while (n_cols < n_cells && strcmp(cells[n_cols].row, cells[0].row) == 0) n_cols++;
    fputs("| method |", out);
    for (int j = 0; j < n_cols; j++) {
        fputc(' ', out);
        md_text(out, cells[j].column);
        fputs(" (ours) | ", out);
        md_text(out, cells[j].column);
        fputs(" (paper) |", out);
    }
    fputs("\n|---|", out);
    for (int j = 0; j < n_cols; j++) fputs("---|---|", out);
    fputc('\n', out);
    for (int i = 0; n_cols && i < n_cells; i += n_cols) {
        fputs("| ", out);
        md_text(out, cells[i].row);
        fputs(" |", out);
        for (int j = 0; j < n_cols; j++) {
            fputc(' ', out);
            md_ours(out, &cells[i + j]);
            fputs(" | ", out);
            md_paper(out, &cells[i + j]);
            fputs(" |", out);
        }
        fputc('\n', out);
    }
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
        if (c->n) md_mean_std(out, c->mean, c->std);
        else fputs("—", out);
        fprintf(out, " | %d | ", c->n);
        md_text(out, c->run->status);
        fputs(" |\n", out);
    }
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
    if (!n) {
        fputc('\n', out);
        return;
    }
    fprintf(out, "- accuracy: %.4f ± %.4f; per seed:", mean, std);
    for (int i = 0; i < r->n_seeds; i++) {
        const mtn_seed_result *s = &r->seeds[i];
        if (s->ok == 1) fprintf(out, "%s %d: %.4f", i ? "," : "", s->seed, s->accuracy);
        else fprintf(out, "%s %d: did not finish", i ? "," : "", s->seed);
    }
    mtn_run_summary(r, MTN_METRIC_QUADRANT_ACCURACY, &mean, &std);
    fprintf(out, "\n- quadrant accuracy: %.4f ± %.4f\n", mean, std);
    double compute, comm, io, train, eval, unused;
    mtn_run_summary(r, MTN_METRIC_STEP_COMPUTE_S, &compute, &unused);
    mtn_run_summary(r, MTN_METRIC_STEP_COMM_S, &comm, &unused);
    mtn_run_summary(r, MTN_METRIC_STEP_IO_S, &io, &unused);
    mtn_run_summary(r, MTN_METRIC_TRAIN_SECONDS, &train, &unused);
    mtn_run_summary(r, MTN_METRIC_EVAL_SECONDS, &eval, &unused);
    fprintf(out, "- mean step time: compute %.4g s, comm %.4g s, io %.4g s; per seed: train %.4g s, eval %.4g s\n\n",
            compute, comm, io, train, eval);
}

static void md_table(FILE *out, mtn_table t, const mtn_archive *archives, int n, const cell *cells, int n_cells) {
    fprintf(out, "## %s\n\n", table_title(t));
    md_sources(out, t, archives, n);
    if (fixed_layout(t)) md_fixed_table(out, cells, n_cells);
    else md_generic_table(out, cells, n_cells);
    fprintf(out, "\nOurs: accuracy, mean ± sample std (n − 1) over the seeds that finished; n shown when not %d.%s\n\n",
            PAPER_SEEDS, fixed_layout(t) ? " Paper: MTNeuro (2022), mean ± std over 5 seeds." : "");
    for (int a = 0; a < n; a++)
        for (int i = 0; archives[a].table == t && i < archives[a].n_runs; i++)
            md_run_details(out, &archives[a], &archives[a].runs[i]);
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
    const char *const texts[] = {mtn_table_name(c->table), c->row, c->column, "accuracy"};
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
    cJSON_AddStringToObject(o, "table", mtn_table_name(c->table));
    cJSON_AddStringToObject(o, "row", c->row);
    cJSON_AddStringToObject(o, "column", c->column);
    cJSON_AddStringToObject(o, "metric", "accuracy");
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
    return o;
}

/* --------------------------------------------------------------------- entry --- */

int mtn_report(FILE *out, const mtn_archive *archives, int n, mtn_report_format format) {
    if (n <= 0 || !archives) return mtn_error_set(MTN_EUSAGE, "report: no result archives");
    /* the tables, in the order the archives name them */
    mtn_table tables[MTN_TABLE_3 + 1];
    int n_tables = 0;
    for (int a = 0; a < n; a++) {
        bool seen = false;
        for (int k = 0; k < n_tables; k++) seen |= tables[k] == archives[a].table;
        if (!seen) tables[n_tables++] = archives[a].table;
    }
    cJSON *json = format == MTN_REPORT_JSON ? cJSON_CreateArray() : NULL;
    int rc = format == MTN_REPORT_JSON && !json ? mtn_error_set(MTN_ENOMEM, "report: out of memory") : MTN_OK;
    if (!rc && format == MTN_REPORT_CSV) fputs("table,row,column,metric,ours_mean,ours_std,n,paper_mean,paper_std\n", out);
    for (int k = 0; k < n_tables && !rc; k++) {
        cell_list cells = {0};
        rc = table_cells(tables[k], archives, n, &cells);
        if (!rc && format == MTN_REPORT_MD) md_table(out, tables[k], archives, n, cells.cells, cells.n);
        for (int i = 0; !rc && format == MTN_REPORT_CSV && i < cells.n; i++) csv_cell(out, &cells.cells[i]);
        for (int i = 0; !rc && format == MTN_REPORT_JSON && i < cells.n; i++) {
            cJSON *o = json_cell(&cells.cells[i]);
            if (!o) rc = mtn_error_set(MTN_ENOMEM, "report: out of memory");
            else cJSON_AddItemToArray(json, o);
        }
        free(cells.cells);
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
