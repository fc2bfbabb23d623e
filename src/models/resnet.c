/* resnet.c — ResNet-18 as MTNeuro uses it (reference-implementation.md §4):
 * torchvision's resnet18 with a 1-channel 3x3 stride-1 first conv, no max-pool,
 * layers 1-4 of two BasicBlocks (64, 128, 256, 512 channels; stride 2 and a 1x1
 * downsample at the start of layers 2-4), adaptive average pooling to a 512-d
 * embedding, and optionally dropout and a Linear(512, classes) head. Tensor names
 * are torchvision's. */
#include <stdio.h>

#include "graph.h"

/* x -> conv3x3 -> bn -> relu -> conv3x3 -> bn (+ shortcut) -> relu */
static int basic_block(mtn_model *m, const char *name, int x, int cout, int stride) {
    char p[96];
    snprintf(p, sizeof p, "%s.conv1", name);
    int h = g_conv(m, p, x, cout, 3, stride, 1, false);
    snprintf(p, sizeof p, "%s.bn1", name);
    h = g_bn(m, p, h, BN_RELU_OUT);
    snprintf(p, sizeof p, "%s.conv2", name);
    h = g_conv(m, p, h, cout, 3, 1, 1, false);
    snprintf(p, sizeof p, "%s.bn2", name);
    h = g_bn(m, p, h, BN_PLAIN);
    int shortcut = x;
    if (stride != 1 || m->slots[x].dims.c != cout) {
        snprintf(p, sizeof p, "%s.downsample.0", name);
        shortcut = g_conv(m, p, x, cout, 1, stride, 0, false);
        snprintf(p, sizeof p, "%s.downsample.1", name);
        shortcut = g_bn(m, p, shortcut, BN_PLAIN);
    }
    /* bn2's output is read only by the sum: the sum (and the ReLU) overwrite it */
    return g_relu(m, g_add(m, h, shortcut, true), true);
}

int mtn_build_resnet18(mtn_model *m) {
    const mtn_model_spec *s = &m->spec;
    mtn_dims in = {s->batch, s->in_channels, 1, s->height, s->width};
    m->input = g_input(m, in);
    int x = g_conv(m, "conv1", m->input, 64, 3, 1, 1, false);
    x = g_bn(m, "bn1", x, BN_RELU_OUT);
    static const int widths[4] = {64, 128, 256, 512};
    for (int l = 0; l < 4; l++)
        for (int b = 0; b < 2; b++) {
            char name[32];
            snprintf(name, sizeof name, "layer%d.%d", l + 1, b);
            x = basic_block(m, name, x, widths[l], l > 0 && b == 0 ? 2 : 1);
        }
    x = g_avgpool(m, x);
    if (s->head) {
        if (s->dropout > 0) x = g_dropout(m, x, s->dropout);
        x = g_linear(m, "fc", x, s->classes, true);
    }
    return g_finish(m, x);
}
