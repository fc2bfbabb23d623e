/* paper_values.h — the MTNeuro paper's numbers that `mtneuro report` prints beside
 * ours, and the names of its rows, columns, classes and features (internal to the
 * results module; values in paper_values.c). */
#ifndef MTN_PAPER_VALUES_H
#define MTN_PAPER_VALUES_H

#include <stdbool.h>

#include "mtn/config.h"
#include "mtn/results.h"

/* The paper's rows and columns of table t, in the paper's order; returns their count
 * (0 for a table without them). Tables 1, A3 and 3: the seven methods; table 2: the
 * U-Nets we build ("2D U-Net", "3D U-Net"), columns "3-class" and "4-class". */
int mtn_paper_rows(mtn_table t, const char *const **rows);
int mtn_paper_columns(mtn_table t, const char *const **columns);
/* Table 2: the class names of the paper's setting with `classes` classes (3:
 * Bg+Axons, Vessels, Cells; 4: Bg, Vessels, Cells, Axons) and its column ("3-class",
 * "4-class"); returns `classes`, or 0 (*names and *column NULL) for another count. */
int mtn_paper_classes(int classes, const char *const **names, const char **column);
/* Table 3: the paper's names of the features (Vessels, Axons, Count, Size, Dist
 * (k=1)), in the order of MTN_FEATURES_COLUMNS (mtn/eval.h); returns 5. */
int mtn_paper_features(const char *const **names);
/* The downsampling of the paper's images in table t (Table 1: 2), or 0 where it has
 * none or it varies by column (Table A3's columns are the downsampling). */
int mtn_paper_downsample(mtn_table t);
/* The paper's value of `metric` at (row, column) of table t: true and *mean, *std
 * (NaN when the paper gives none), or false when it has no such cell. Metrics:
 * tables 1 and A3 "accuracy"; table 2 "f1" and "iou", index a class or
 * MTN_VECTOR_MEAN for "Avg"; table 3 "r2", index a feature. */
bool mtn_paper_value(mtn_table t, const char *row, const char *column, const char *metric, int index, double *mean,
                     double *std);

#endif
