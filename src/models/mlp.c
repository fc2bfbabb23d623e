/* mlp.c — the projector and predictor heads of BYOL and MYOW (MLP3 of MTNeuro's
 * self_supervised library): Linear(in, hidden) -> BatchNorm1d -> ReLU ->
 * Linear(hidden, out, no bias). Names net.0 / net.1 / net.3 as nn.Sequential gives
 * them. */
#include "graph.h"

int mtn_build_mlp(mtn_model *m) {
    const mtn_model_spec *s = &m->spec;
    mtn_dims in = {s->batch, s->mlp_in, 1, 1, 1};
    m->input = g_input(m, in);
    int x = g_linear(m, "net.0", m->input, s->mlp_hidden, true);
    x = g_bn(m, "net.1", x, BN_RELU_OUT);
    x = g_linear(m, "net.3", x, s->mlp_out, false);
    return g_finish(m, x);
}
