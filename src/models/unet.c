/* unet.c — the reference U-Net of MTNeuro's Task 2 (models/unet.py, from
 * johschmidt42's tutorial), 2D or 3D: n_blocks levels of start_filters * 2^level
 * channels (32-64-128-256), each block conv3x3 -> ReLU -> BN -> conv3x3 -> ReLU -> BN,
 * max-pool 2 between levels, an up path of ConvTranspose(k2, s2) -> ReLU -> BN ->
 * concat(skip) -> block, and a 1x1 head. Tensor names follow that module:
 * down_blocks.i.conv1 / norm1 ..., up_blocks.i.up / norm0 / conv1 ..., conv_final.
 * Convolutions have biases, as in the reference. Each UpBlock there also holds a
 * 1x1 conv0 that transposed up-sampling never calls; it is registered (so its
 * state_dict loads) and keeps a zero gradient. */
#include <stdio.h>

#include "graph.h"

/* conv -> ReLU -> BN, twice (the ReLU fused into the BN) */
static int conv_block(mtn_model *m, const char *name, int x, int cout) {
    char p[96];
    for (int i = 1; i <= 2; i++) {
        snprintf(p, sizeof p, "%s.conv%d", name, i);
        x = g_conv(m, p, x, cout, 3, 1, 1, true);
        snprintf(p, sizeof p, "%s.norm%d", name, i);
        x = g_bn(m, p, x, BN_RELU_IN);
    }
    return x;
}

int mtn_build_unet(mtn_model *m) {
    const mtn_model_spec *s = &m->spec;
    mtn_dims in = {s->batch, s->in_channels, s->dims == 3 ? s->depth : 1, s->height, s->width};
    m->input = g_input(m, in);
    int x = m->input, skips[8];
    char name[64];
    for (int l = 0; l < s->n_blocks; l++) {
        snprintf(name, sizeof name, "down_blocks.%d", l);
        x = conv_block(m, name, x, s->start_filters << l);
        skips[l] = x;
        if (l < s->n_blocks - 1) x = g_maxpool(m, x, 2);
    }
    for (int u = 0; u < s->n_blocks - 1; u++) {
        int level = s->n_blocks - 2 - u, cout = s->start_filters << level;
        int cin = m->slots[x].dims.c;
        snprintf(name, sizeof name, "up_blocks.%d.up", u);
        x = g_convt(m, name, x, cout, 2);
        snprintf(name, sizeof name, "up_blocks.%d.conv0", u);
        g_unused_conv(m, name, cin, cout);
        snprintf(name, sizeof name, "up_blocks.%d.norm0", u);
        x = g_concat(m, g_bn(m, name, x, BN_RELU_IN), skips[level]);
        snprintf(name, sizeof name, "up_blocks.%d", u);
        x = conv_block(m, name, x, cout);
    }
    x = g_conv(m, "conv_final", x, s->classes, 1, 1, 0, true);
    return g_finish(m, x);
}
