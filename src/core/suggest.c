/* suggest.c — the "did you mean" behind unknown-key and unknown-value errors:
 * a small Damerau–Levenshtein distance, case-insensitive. */
#include "mtn/core.h"

#include <ctype.h>
#include <string.h>

enum { MAX_WORD = 64 };

int mtn_edit_distance(const char *a, const char *b) {
    size_t n = strlen(a), m = strlen(b);
    if (n >= MAX_WORD || m >= MAX_WORD) return (int)(n > m ? n : m);
    int d[MAX_WORD + 1][MAX_WORD + 1];
    for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int cost = ca != cb;
            int best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    }
    return d[n][m];
}

const char *mtn_suggest(const char *word, const char *const *candidates, size_t n) {
    const char *best = NULL;
    int best_d = 1 << 30;
    for (size_t i = 0; i < n; i++) {
        int dist = mtn_edit_distance(word, candidates[i]);
        if (dist < best_d) { best_d = dist; best = candidates[i]; }
    }
    int len = (int)strlen(word);
    int limit = len / 3 > 2 ? len / 3 : 2;
    if (len <= 3) limit = 1;
    return best_d <= limit ? best : NULL;
}
