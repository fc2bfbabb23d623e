/* paper_values.c — the paper's numbers, as transcribed in
 * shared/reference/paper-tables.md and reference-implementation.md §5-6: Task 1
 * accuracies (Table 1 and Table A3: mean ± std over 5 seeds; PCA and NMF, and every
 * Table A3 cell, without a std), Task 2 F1 / IoU of the U-Nets (per class without a
 * std, "Avg" with the website's std) and Task 3 R² (ROI-C1 with the website's std,
 * ROI-C3 without). */
#include <math.h>
#include <string.h>

#include "paper_values.h"

typedef struct {
    double mean, std;
} value;
#define NO_STD NAN

/* ------------------------------------------------- Tables 1, A3 and 3 (methods) --- */

static const char *const rows[] = {"Supervised", "Sup w/ Mixup", "BYOL", "MYOW", "MYOW-m", "PCA", "NMF"};
enum { N_ROWS = sizeof rows / sizeof rows[0] };
static const char *const table1_columns[] = {"ROI-C1", "ROI-C2", "ROI-C3"};
/* the columns of jobs/tableA3-downsampling.json: 4x, 2x, no downsampling */
static const char *const tableA3_columns[] = {"Downsampling=4", "Downsampling=2", "Full-res"};
static const char *const table3_columns[] = {"ROI-C1", "ROI-C3"};

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

/* Table 3, [row][column][feature]: Vessels, Axons, Count, Size, Dist (k=1) */
static const char *const features[] = {"Vessels", "Axons", "Count", "Size", "Dist (k=1)"};
enum { N_FEATURES = sizeof features / sizeof features[0] };
static const value table3[N_ROWS][2][N_FEATURES] = {
    {{{0.77, 0.06}, {0.94, 0.01}, {0.67, 0.06}, {0.61, 0.05}, {0.48, 0.05}}, /* Supervised */
     {{0.79, NO_STD}, {0.94, NO_STD}, {0.73, NO_STD}, {0.63, NO_STD}, {0.49, NO_STD}}},
    {{{0.82, 0.02}, {0.95, 0.00}, {0.71, 0.02}, {0.67, 0.03}, {0.47, 0.02}}, /* Sup w/ Mixup */
     {{0.75, NO_STD}, {0.88, NO_STD}, {0.64, NO_STD}, {0.54, NO_STD}, {0.37, NO_STD}}},
    {{{0.85, 0.01}, {0.94, 0.01}, {0.75, 0.01}, {0.69, 0.01}, {0.49, 0.01}}, /* BYOL */
     {{0.88, NO_STD}, {0.96, NO_STD}, {0.79, NO_STD}, {0.73, NO_STD}, {0.53, NO_STD}}},
    {{{0.85, 0.01}, {0.94, 0.01}, {0.74, 0.01}, {0.69, 0.01}, {0.50, 0.02}}, /* MYOW */
     {{0.88, NO_STD}, {0.96, NO_STD}, {0.79, NO_STD}, {0.72, NO_STD}, {0.52, NO_STD}}},
    {{{0.87, 0.01}, {0.95, 0.01}, {0.77, 0.01}, {0.69, 0.01}, {0.51, 0.01}}, /* MYOW-m */
     {{0.87, NO_STD}, {0.96, NO_STD}, {0.78, NO_STD}, {0.72, NO_STD}, {0.53, NO_STD}}},
    {{{0.75, NO_STD}, {0.82, NO_STD}, {0.55, NO_STD}, {0.47, NO_STD}, {0.31, NO_STD}}, /* PCA */
     {{0.75, NO_STD}, {0.82, NO_STD}, {0.53, NO_STD}, {0.46, NO_STD}, {0.29, NO_STD}}},
    {{{0.81, NO_STD}, {0.85, NO_STD}, {0.59, NO_STD}, {0.55, NO_STD}, {0.34, NO_STD}}, /* NMF */
     {{0.75, NO_STD}, {0.83, NO_STD}, {0.56, NO_STD}, {0.49, NO_STD}, {0.31, NO_STD}}},
};

/* ------------------------------------------------------------ Table 2 (U-Nets) --- */

static const char *const table2_rows[] = {"2D U-Net", "3D U-Net"};
static const char *const table2_columns[] = {"3-class", "4-class"};
static const char *const classes3[] = {"Bg+Axons", "Vessels", "Cells"};
static const char *const classes4[] = {"Bg", "Vessels", "Cells", "Axons"};

/* one model in one setting: F1 and IoU per class (no std given), and their Avg */
typedef struct {
    double f1[4], iou[4];
    value f1_avg, iou_avg;
} segmentation;

/* [row][column] in the orders above */
static const segmentation table2[2][2] = {
    {{{0.99, 0.76, 0.85}, {0.98, 0.64, 0.75}, {0.87, 0.012}, {0.79, 0.014}},               /* 2D U-Net, 3-class */
     {{0.97, 0.82, 0.87, 0.94}, {0.89, 0.70, 0.77, 0.60}, {0.90, 0.003}, {0.74, 0.008}}}, /* 4-class */
    {{{0.99, 0.77, 0.87}, {0.98, 0.65, 0.76}, {0.88, 0.006}, {0.80, 0.007}},               /* 3D U-Net, 3-class */
     {{0.93, 0.76, 0.80, 0.87}, {0.81, 0.62, 0.67, 0.50}, {0.84, 0.032}, {0.65, 0.045}}}, /* 4-class */
};

/* ---------------------------------------------------------------- look-ups --- */

int mtn_paper_rows(mtn_table t, const char *const **out) {
    *out = t == MTN_TABLE_2 ? table2_rows : rows;
    switch (t) {
    case MTN_TABLE_1:
    case MTN_TABLE_A3:
    case MTN_TABLE_3: return N_ROWS;
    case MTN_TABLE_2: return 2;
    case MTN_TABLE_NONE: break;
    }
    return 0;
}

int mtn_paper_columns(mtn_table t, const char *const **out) {
    switch (t) {
    case MTN_TABLE_1: *out = table1_columns; return 3;
    case MTN_TABLE_A3: *out = tableA3_columns; return 3;
    case MTN_TABLE_2: *out = table2_columns; return 2;
    case MTN_TABLE_3: *out = table3_columns; return 2;
    case MTN_TABLE_NONE: break;
    }
    *out = table1_columns;
    return 0;
}

int mtn_paper_classes(int classes, const char *const **names, const char **column) {
    *names = classes == 3 ? classes3 : classes == 4 ? classes4 : NULL;
    *column = classes == 3 ? table2_columns[0] : classes == 4 ? table2_columns[1] : NULL;
    return *names ? classes : 0;
}

int mtn_paper_features(const char *const **names) {
    *names = features;
    return N_FEATURES;
}

int mtn_paper_downsample(mtn_table t) { return t == MTN_TABLE_1 ? 2 : 0; }

/* the index of s in names[0..n), or -1 */
static int find(const char *const *names, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

bool mtn_paper_value(mtn_table t, const char *row, const char *column, const char *metric, int index, double *mean,
                     double *std) {
    *mean = *std = NAN;
    const char *const *names;
    int n_rows = mtn_paper_rows(t, &names), i = find(names, n_rows, row);
    int n_cols = mtn_paper_columns(t, &names), j = find(names, n_cols, column);
    if (i < 0 || j < 0) return false;
    value v = {NAN, NAN};
    if ((t == MTN_TABLE_1 || t == MTN_TABLE_A3) && strcmp(metric, "accuracy") == 0) {
        v = t == MTN_TABLE_A3 ? tableA3[i][j] : table1[i][j];
    } else if (t == MTN_TABLE_3 && strcmp(metric, "r2") == 0 && index >= 0 && index < N_FEATURES) {
        v = table3[i][j][index];
    } else if (t == MTN_TABLE_2 && (strcmp(metric, "f1") == 0 || strcmp(metric, "iou") == 0)) {
        const segmentation *s = &table2[i][j];
        bool f1 = strcmp(metric, "f1") == 0;
        int classes = j == 0 ? 3 : 4;
        if (index == MTN_VECTOR_MEAN) v = f1 ? s->f1_avg : s->iou_avg;
        else if (index >= 0 && index < classes) v = (value){f1 ? s->f1[index] : s->iou[index], NO_STD};
        else return false;
    } else {
        return false;
    }
    *mean = v.mean;
    *std = v.std;
    return true;
}
