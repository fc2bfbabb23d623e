/* tree.c — the fixed binary tree over parts (see core.h): the binary-counter order
 * that mtn_exec_reduce uses for its leaves, for callers that hold the parts
 * themselves (ranks combining their shares of a batch). */
#include "mtn/core.h"

enum { TREE_LEVELS = 40 };

static void add_into(float *left, const float *right, size_t count) {
    for (size_t i = 0; i < count; i++) left[i] += right[i];
}

int mtn_tree_sum(float *const *parts, int n, size_t count) {
    MTN_ASSERT(n >= 1);
    int stack[TREE_LEVELS];
    for (int l = 0; l < TREE_LEVELS; l++) stack[l] = -1;
    for (int i = 0; i < n; i++) {
        int carry = i, l = 0;
        while (stack[l] >= 0) { /* earlier parts on the left */
            add_into(parts[stack[l]], parts[carry], count);
            carry = stack[l];
            stack[l] = -1;
            l++;
        }
        stack[l] = carry;
    }
    int result = -1;
    for (int l = TREE_LEVELS - 1; l >= 0; l--) {
        if (stack[l] < 0) continue;
        if (result < 0) result = stack[l];
        else add_into(parts[result], parts[stack[l]], count);
    }
    return result;
}
