/* mtn/models.h — the models of MTNeuro, built from nn.h's layers: ResNet-18 as
 * MTNeuro uses it, the reference 2D and 3D U-Nets, and the MLP heads of the
 * self-supervised methods. No MPI and no HDF5 in here (design §5).
 *
 * A model owns one flat buffer of parameters (and one of gradients, same layout),
 * one of buffers (BatchNorm running statistics) and its activations, all allocated
 * by mtn_model_create for a maximum batch; forward and backward allocate nothing.
 * Every tensor is named and shaped like PyTorch's state_dict (conv1.weight,
 * layer1.0.bn1.running_mean, fc.weight, ...), so weights move both ways.
 *
 * Ownership: mtn_model_create returns a model freed by mtn_model_free (NULL ok). The
 * executor is borrowed and must outlive the model. Pointers returned by accessors
 * stay valid until the model is freed. */
#ifndef MTN_MODELS_H
#define MTN_MODELS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mtn/nn.h"

typedef enum { MTN_ARCH_RESNET18, MTN_ARCH_UNET, MTN_ARCH_MLP } mtn_arch;

typedef struct {
    mtn_arch arch;
    int dims;           /* 2 or 3 (U-Net) */
    int in_channels;    /* 1 */
    int classes;        /* ResNet head / U-Net head outputs */
    bool head;          /* ResNet: with the linear head; false = encoder (512-d) only */
    float dropout;      /* ResNet: before the head */
    int n_blocks, start_filters; /* U-Net: 4 levels, 32 filters */
    int mlp_in, mlp_hidden, mlp_out; /* MLP: Linear -> BN1d -> ReLU -> Linear */
    /* the largest input the model will see */
    int batch, micro;   /* micro-batch: the unit of deterministic reduction */
    int depth, height, width;
} mtn_model_spec;

/* What a named tensor is: a trainable parameter, a float buffer (running mean or
 * variance), or BN's num_batches_tracked (an int64 counter, kept apart). */
typedef enum { MTN_TENSOR_PARAM, MTN_TENSOR_BUFFER, MTN_TENSOR_COUNTER } mtn_tensor_kind;

typedef struct {
    char name[64];      /* the state_dict key */
    mtn_tensor_kind kind;
    int ndim;
    int64_t shape[5];
    int64_t numel;
    int64_t offset;     /* into params (PARAM), buffers (BUFFER) or counters (COUNTER) */
    bool grad_whole;    /* its gradient is the whole batch's even when the batch is split
                           into shares (BatchNorm's weight and bias: see nn.h) */
} mtn_tensor_info;

typedef struct mtn_model mtn_model;

int mtn_model_create(const mtn_model_spec *spec, mtn_exec *ex, mtn_model **out);
void mtn_model_free(mtn_model *m);
const mtn_model_spec *mtn_model_spec_of(const mtn_model *m);
const char *mtn_arch_name(const mtn_model_spec *spec); /* "resnet18", "unet2d", "unet3d", "mlp" */

int mtn_model_n_tensors(const mtn_model *m);
const mtn_tensor_info *mtn_model_tensor(const mtn_model *m, int i);
int mtn_model_find_tensor(const mtn_model *m, const char *name); /* index or -1 */
float *mtn_model_params(mtn_model *m);
float *mtn_model_grads(mtn_model *m);
float *mtn_model_buffers(mtn_model *m);
int64_t *mtn_model_counters(mtn_model *m);
int64_t mtn_model_n_params(const mtn_model *m);
int64_t mtn_model_n_buffers(const mtn_model *m);
int mtn_model_n_counters(const mtn_model *m);

/* PyTorch's initialisation in law (the bits come from Philox keyed by seed):
 * ResNet-18 as torchvision (Kaiming-normal fan_out convs, BN 1/0, default Linear
 * and first conv), U-Net Xavier-uniform weights and zero biases, MLP default Linear;
 * running mean 0, variance 1, counters 0. */
void mtn_model_init(mtn_model *m, uint64_t seed);

/* Forward on n <= spec.batch samples (n a multiple of spec.micro) of x
 * (n, in_channels, [depth,] height, width) in training or eval mode; returns the
 * output (logits (n, classes[, spatial]), or the embedding (n, 512) for an encoder),
 * valid until the next forward. Training mode updates BN running statistics;
 * dropout draws from (dropout_seed, step). */
const float *mtn_model_forward(mtn_model *m, const float *x, int n, bool train, uint64_t dropout_seed,
                               uint64_t step);
/* Backward from dout (the output's gradient); accumulates into the gradients
 * (zero them with mtn_model_zero_grad first). Needs the preceding training forward. */
void mtn_model_backward(mtn_model *m, const float *dout);
void mtn_model_zero_grad(mtn_model *m);
/* Output shape of the last forward. */
mtn_dims mtn_model_out_dims(const mtn_model *m);
/* Bytes the model holds (parameters, gradients, buffers, activations, scratch). */
int64_t mtn_model_bytes(const mtn_model *m);

/* Per-op-kind timing of forward and backward, for `mtneuro bench --profile`. */
void mtn_model_profile(mtn_model *m, bool on);
void mtn_model_print_profile(const mtn_model *m, FILE *out);

/* Training FLOPs of one sample (3 x forward multiply-adds x 2, the usual count),
 * for throughput reports. */
double mtn_model_train_flops(const mtn_model *m);

#endif
