/* concat.c — channel concatenation (torch.cat(dim=1)) of a (N, Ca, S) and b (N, Cb, S)
 * into (N, Ca + Cb, S), and its backward, over fixed chunks of the output. */
#include <string.h>

#include "items.h"

typedef struct {
    float *out, *da, *db;
    const float *a, *b, *dout;
    int64_t la, lb; /* floats per sample of a and of b */
} cat_ctx;

/* Output elements [lo, hi) in runs that stay inside one sample's part a or b:
 * forward copies the part into out, backward adds dout into the part's gradient. */
static void cat_range(void *p, int64_t lo, int64_t hi, int thread) {
    (void)thread;
    const cat_ctx *c = p;
    for (int64_t i = lo; i < hi;) {
        int64_t s = i / (c->la + c->lb), r = i % (c->la + c->lb);
        bool in_a = r < c->la;
        int64_t len = in_a ? c->la : c->lb, off = in_a ? r : r - c->la;
        int64_t run = nn_min64(len - off, hi - i), at = s * len + off;
        if (c->out) {
            memcpy(c->out + i, (in_a ? c->a : c->b) + at, sizeof(float) * (size_t)run);
        } else {
            float *d = in_a ? c->da : c->db;
            if (d)
                for (int64_t t = 0; t < run; t++) d[at + t] += c->dout[i + t];
        }
        i += run;
    }
}

void mtn_concat_forward(mtn_exec *ex, float *out, const float *a, const float *b, int n, int ca, int cb,
                        int64_t spatial) {
    cat_ctx c = {out, NULL, NULL, a, b, NULL, (int64_t)ca * spatial, (int64_t)cb * spatial};
    nn_for_chunks(ex, (int64_t)n * (ca + cb) * spatial, cat_range, &c);
}

void mtn_concat_backward(mtn_exec *ex, float *da, float *db, const float *dout, int n, int ca, int cb,
                         int64_t spatial) {
    cat_ctx c = {NULL, da, db, NULL, NULL, dout, (int64_t)ca * spatial, (int64_t)cb * spatial};
    nn_for_chunks(ex, (int64_t)n * (ca + cb) * spatial, cat_range, &c);
}
