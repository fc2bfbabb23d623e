/* paper_values.c — the paper's Task 1 accuracies (Table 1 and Table A3), as
 * transcribed in shared/reference/paper-tables.md: mean ± std over 5 seeds; PCA and
 * NMF, and every Table A3 cell, without a std. */
#include <math.h>
#include <string.h>

#include "paper_values.h"

static const char *const rows[] = {"Supervised", "Sup w/ Mixup", "BYOL", "MYOW", "MYOW-m", "PCA", "NMF"};
enum { N_ROWS = sizeof rows / sizeof rows[0] };
static const char *const table1_columns[] = {"ROI-C1", "ROI-C2", "ROI-C3"};
/* the columns of jobs/tableA3-downsampling.json: 4x, 2x, no downsampling */
static const char *const tableA3_columns[] = {"Downsampling=4", "Downsampling=2", "Full-res"};

typedef struct {
    double mean, std;
} value;
#define NO_STD NAN

/* [row][column] in the orders above */
static const value table1[N_ROWS][3] = {
    {{0.88, 0.03}, {0.77, 0.03}, {0.88, 0.02}},       /* Supervised */
    {{0.90, 0.04}, {0.78, 0.03}, {0.90, 0.02}},       /* Sup w/ Mixup */
    {{0.88, 0.02}, {0.76, 0.02}, {0.97, 0.01}},       /* BYOL */
    {{0.90, 0.02}, {0.78, 0.05}, {0.98, 0.01}},       /* MYOW */
    {{0.94, 0.02}, {0.78, 0.03}, {0.98, 0.01}},       /* MYOW-m */
    {{0.59, NO_STD}, {0.25, NO_STD}, {0.07, NO_STD}}, /* PCA */
    {{0.62, NO_STD}, {0.27, NO_STD}, {0.50, NO_STD}}, /* NMF */
};
static const value tableA3[N_ROWS][3] = {
    {{0.83, NO_STD}, {0.88, NO_STD}, {0.87, NO_STD}}, /* Supervised (the paper's "Resnet18") */
    {{0.85, NO_STD}, {0.90, NO_STD}, {0.91, NO_STD}}, /* Sup w/ Mixup */
    {{0.83, NO_STD}, {0.88, NO_STD}, {0.98, NO_STD}}, /* BYOL */
    {{0.84, NO_STD}, {0.90, NO_STD}, {0.96, NO_STD}}, /* MYOW */
    {{0.84, NO_STD}, {0.94, NO_STD}, {0.99, NO_STD}}, /* MYOW-m */
    {{0.59, NO_STD}, {0.59, NO_STD}, {0.59, NO_STD}}, /* PCA */
    {{0.55, NO_STD}, {0.62, NO_STD}, {0.54, NO_STD}}, /* NMF */
};

int mtn_paper_rows(mtn_table t, const char *const **out) {
    *out = rows;
    return t == MTN_TABLE_1 || t == MTN_TABLE_A3 ? N_ROWS : 0;
}

int mtn_paper_columns(mtn_table t, const char *const **out) {
    *out = t == MTN_TABLE_A3 ? tableA3_columns : table1_columns;
    return t == MTN_TABLE_1 || t == MTN_TABLE_A3 ? 3 : 0;
}

bool mtn_paper_value(mtn_table t, const char *row, const char *column, double *mean, double *std) {
    const char *const *cols;
    int nc = mtn_paper_columns(t, &cols);
    const value(*table)[3] = t == MTN_TABLE_A3 ? tableA3 : table1;
    for (int i = 0; i < N_ROWS && nc; i++)
        for (int j = 0; j < nc; j++)
            if (strcmp(rows[i], row) == 0 && strcmp(cols[j], column) == 0) {
                *mean = table[i][j].mean;
                *std = table[i][j].std;
                return true;
            }
    *mean = *std = NAN;
    return false;
}
