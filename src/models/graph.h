/* graph.h — a model as a straight list of layer ops over activation slots: the
 * builders (one call per layer, registering its state_dict tensors), the memory
 * plan (one buffer per activation, gradient buffers shared by liveness) and the
 * forward and backward walks. Internal to models. */
#ifndef MTN_MODELS_GRAPH_H
#define MTN_MODELS_GRAPH_H

#include "mtn/models.h"

typedef enum { OP_CONV, OP_CONVT, OP_BN, OP_RELU, OP_ADD, OP_MAXPOOL, OP_AVGPOOL, OP_LINEAR, OP_DROPOUT, OP_CONCAT }
    op_kind;

typedef struct {
    mtn_dims dims;    /* at the maximum batch */
    float *data;
    float *grad;      /* assigned by the plan; NULL for the input */
    int producer;     /* op index, -1 for the model input */
    int last_use;     /* largest op index reading it */
} slot;

typedef struct {
    op_kind kind;
    int in, in2, out;        /* slots; in2 for add and concat; out == in for in-place ReLU */
    mtn_conv conv;
    mtn_convt convt;
    mtn_bn bn;
    mtn_maxpool pool;
    mtn_linear lin;
    float p;                 /* dropout */
    int w, b;                /* tensor indices, -1 if none */
    int rm, rv, nbt;         /* BatchNorm buffers and counter */
    float *save;             /* BatchNorm: mean and inverse std */
    int32_t *argmax;         /* max pool */
    uint8_t *mask;           /* dropout */
} op;

struct mtn_model {
    mtn_model_spec spec;
    mtn_exec *ex;
    mtn_tensor_info *tensors;
    int n_tensors, cap_tensors;
    int64_t n_params, n_buffers;
    int n_counters;
    float *params, *grads, *buffers;
    int64_t *counters;
    slot *slots;
    int n_slots, cap_slots;
    op *ops;
    int n_ops, cap_ops;
    int input, output;
    int n;                   /* batch of the last forward */
    bool trained_forward;    /* the last forward was in training mode */
    void *arena;             /* activations, gradients and aux, one allocation */
    int64_t arena_bytes;
    double flops_per_sample; /* forward multiply-adds x 2 */
    int status;              /* first builder error */
    bool profile;            /* time every op (mtn_model_profile) */
    double op_seconds[2][OP_CONCAT + 1]; /* forward, backward, per op kind */
};

/* ---- builders: each returns the output slot (or -1 after an error, kept in
 * m->status); prefix is the state_dict prefix ("layer1.0.conv1"). 2D layers get
 * depth-1 kernels from the model's dims. ---- */
int g_input(mtn_model *m, mtn_dims dims);
int g_conv(mtn_model *m, const char *prefix, int in, int cout, int k, int stride, int pad, bool bias);
int g_convt(mtn_model *m, const char *prefix, int in, int cout, int k);
/* BatchNorm, with a ReLU before it (conv -> ReLU -> BN) or after it (BN -> ReLU)
 * fused in (see mtn_bn): the same bits as separate layers, two memory passes fewer. */
typedef enum { BN_PLAIN, BN_RELU_IN, BN_RELU_OUT } bn_relu;
int g_bn(mtn_model *m, const char *prefix, int in, bn_relu relu);
int g_relu(mtn_model *m, int in, bool in_place);
int g_add(mtn_model *m, int a, int b, bool in_place);
int g_maxpool(mtn_model *m, int in, int k);
int g_avgpool(mtn_model *m, int in);
int g_linear(mtn_model *m, const char *prefix, int in, int out_f, bool bias);
/* Registers a 1x1 convolution's weight and bias that the forward never uses (the
 * reference U-Net's conv0): present in the state_dict, gradient always zero. */
void g_unused_conv(mtn_model *m, const char *prefix, int cin, int cout);
int g_dropout(mtn_model *m, int in, float p);
int g_concat(mtn_model *m, int a, int b);

/* After building: allocate parameters, activations, gradients (shared by
 * liveness) and aux storage; reserve the executor's scratch for every layer. */
int g_finish(mtn_model *m, int output);

/* ---- the architectures ---- */
int mtn_build_resnet18(mtn_model *m);
int mtn_build_unet(mtn_model *m);
int mtn_build_mlp(mtn_model *m);

#endif
