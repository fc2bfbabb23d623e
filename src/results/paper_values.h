/* paper_values.h — the MTNeuro paper's numbers that `mtneuro report` prints beside
 * ours (internal to the results module; values in paper_values.c). */
#ifndef MTN_PAPER_VALUES_H
#define MTN_PAPER_VALUES_H

#include <stdbool.h>

#include "mtn/config.h"

/* The paper's rows and columns of a table with a fixed layout (table1, tableA3), in
 * the paper's order; returns their count (0 for other tables). */
int mtn_paper_rows(mtn_table t, const char *const **rows);
int mtn_paper_columns(mtn_table t, const char *const **columns);
/* The paper's accuracy for (row, column) of table t: true and *mean, *std (NaN when
 * the paper gives none), or false when the paper has no such cell. */
bool mtn_paper_value(mtn_table t, const char *row, const char *column, double *mean, double *std);

#endif
