/* mtn/config.h — task, network and job configs, read from JSON with cJSON.
 *
 * MTNeuro's own task and network JSON files load unchanged; our keys extend them
 * (design §5). Every value is typed and range-checked; unknown keys are errors with a
 * "did you mean"; MTNeuro keys we do not use are accepted and reported once as
 * ignored. Every error names the file, the key path, what was expected and what was
 * found (line and column for syntax errors) and returns MTN_ECONFIG (exit 2).
 *
 * Ownership: task and network configs are plain values (fixed-size strings, no
 * pointers) and may be copied with `=`. A job owns its runs array: free it with
 * mtn_job_free (which accepts NULL). Strings returned by the *_to_json functions are
 * cJSON-allocated: free them with cJSON_free (or take the cJSON tree and cJSON_Delete
 * it). */
#ifndef MTN_CONFIG_H
#define MTN_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mtn/core.h"

struct cJSON;

/* ------------------------------------------------------------ common types --- */

#define MTN_PATH_MAX 1024
#define MTN_NAME_MAX 64
#define MTN_URI_MAX 256
#define MTN_MAX_CUBES 8
#define MTN_MAX_SEEDS 64
#define MTN_MAX_LIST 16
#define MTN_MAX_RUNS 256

/* The prasad2020 coordinate frame (z, y, x) at resolution 0, 1.17 µm per voxel. */
#define MTN_FRAME_Z 720
#define MTN_FRAME_Y 1420
#define MTN_FRAME_X 5805

/* The paper's seeds. */
extern const int mtn_paper_seeds[5];

/* Half-open range [start, stop) in voxels at resolution 0. */
typedef struct { int64_t start, stop; } mtn_range;
static inline int64_t mtn_range_len(mtn_range r) { return r.stop - r.start; }

/* Brain regions in MTNeuro's order (and class index for Task 1). */
enum { MTN_REGION_CTX, MTN_REGION_STR, MTN_REGION_VP, MTN_REGION_ZI, MTN_NREGIONS };
extern const char *const mtn_region_names[MTN_NREGIONS]; /* "CTX", "STR", "VP", "ZI" */

/* One cube set (A–D in the paper): an x-y box per region and a z range. */
typedef struct {
    char name[8];
    mtn_range x[MTN_NREGIONS], y[MTN_NREGIONS];
    mtn_range z;
} mtn_cube;

/* Where a resolved value came from. */
typedef enum { MTN_ORIGIN_DEFAULT = 0, MTN_ORIGIN_PRESET, MTN_ORIGIN_FILE, MTN_ORIGIN_OVERRIDE }
    mtn_origin;
#define MTN_MAX_KEYS 96

/* -------------------------------------------------------------- task config --- */

typedef enum { MTN_TASKTYPE_NORMAL, MTN_TASKTYPE_3CLASS, MTN_TASKTYPE_NOZI } mtn_task_type;

typedef struct {
    char file[MTN_PATH_MAX];     /* where it was read from ("" for built in memory) */
    char name[MTN_NAME_MAX];
    char description[256];
    int task;                    /* 1, 2 or 3; from "task" or inferred (see task_config.c) */
    char image_chan[MTN_URI_MAX];      /* bossdb://collection/experiment/channel */
    char annotation_chan[MTN_URI_MAX];
    /* cubes[0] is cube set A, given by MTNeuro's flat keys (xrange_cor, ..., zrange);
     * further cube sets come from our "cubes" object. */
    mtn_cube cubes[MTN_MAX_CUBES];
    int n_cubes;
    mtn_range z_train, z_val, z_test; /* in cube A */
    int volume_z;                /* slices per sample: 1 (2D) or e.g. 8 (3D) */
    int tile_size[2];            /* (height, width) in voxels at resolution 0 */
    mtn_task_type task_type;
    bool combine_ax_and_bg;      /* Task 2, 3-class: axons merged into background */
    bool no_zi;                  /* Task 2, 4-class: ZI tiles dropped */
    int downsample;              /* 1, 2 or 4, applied at stage time */
    uint32_t train_cubes, test_cubes; /* bit i = cubes[i]; A contributes its z_train /
                                         z_test slices, other cubes all their slices */
    uint8_t origin[MTN_MAX_KEYS];     /* per schema key */
} mtn_task_config;

/* Number of classes the task's labels have: 4 regions for Task 1; 3 or 4
 * microstructure classes for Task 2; 4 for Task 3. */
int mtn_task_classes(const mtn_task_config *t);
/* Regions the task uses (bit per MTN_REGION_*): all, or all but ZI with no_zi. */
uint32_t mtn_task_regions(const mtn_task_config *t);
/* Tile edge after downsampling. */
static inline int mtn_task_tile_h(const mtn_task_config *t) { return t->tile_size[0] / t->downsample; }
static inline int mtn_task_tile_w(const mtn_task_config *t) { return t->tile_size[1] / t->downsample; }

/* ----------------------------------------------------------- network config --- */

typedef enum { MTN_PRESET_PAPER, MTN_PRESET_CODE } mtn_preset;
typedef enum { MTN_MODEL_RESNET18, MTN_MODEL_UNET, MTN_MODEL_PCA, MTN_MODEL_NMF } mtn_model_kind;
typedef enum { MTN_TRAIN_SUPERVISED, MTN_TRAIN_SSL } mtn_train_type;
typedef enum { MTN_SSL_BYOL, MTN_SSL_MYOW, MTN_SSL_MYOW_MERGED } mtn_ssl_method;
typedef enum { MTN_OPT_SGD, MTN_OPT_ADAM } mtn_optimizer;
typedef enum { MTN_DECAY_COSINE, MTN_DECAY_NONE } mtn_decay;
typedef enum { MTN_NORM_NONE, MTN_NORM_IMAGE } mtn_input_norm;

typedef struct {
    char file[MTN_PATH_MAX];
    char description[256];
    mtn_preset preset;           /* fills every key the file does not set */
    mtn_train_type task_type;    /* "supervised" or "SSL" */
    mtn_model_kind model;
    int dim;                     /* 2 or 3 */
    int in_channels, classes;
    int n_blocks, start_filters; /* U-Net depth and width */
    /* The network's own training (supervised ResNet-18, U-Net, or SSL pre-training):
     * SGD momentum ("opt_momentum", as MTNeuro's SSL configs call it) and weight decay. */
    double momentum, weight_decay;
    /* "optimizer", "learning_rate", "epochs", "batch_size": the supervised training, or
     * for SSL, PCA and NMF the linear probe — exactly as in MTNeuro's configs. */
    mtn_optimizer optimizer;
    double learning_rate, beta1, beta2;
    int epochs, batch_size;
    int micro_batch;             /* samples per fixed micro-batch (design §4); 0 = auto */
    double dropout;              /* before the classifier head */
    mtn_input_norm input_norm;   /* "none" (the paper: pixels in [0, 1]) or "image": each
                                    image standardised to mean 0, std 1 */
    double mixup_prob;           /* probability of mixing a batch */
    double mixup_alpha;          /* mixing weight lambda ~ Beta(alpha, alpha) */
    /* self-supervised pre-training (BYOL / MYOW / MYOW-m); batch_size is shared */
    mtn_ssl_method ssl_method;
    int ssl_epochs;
    double base_learning_rate, base_momentum;
    int projector_hidden_size, projector_output_size;
    int projector_2_hidden_size, projector_2_output_size;
    int lr_warmup_epochs;
    mtn_decay lr_decay, mm_decay;
    double myow_base_weight;
    int byol_warmup_epochs, myow_rampup_epochs, knn_nneighs;
    uint32_t transforms;         /* bit mask; only random_crop is built */
    double crop_fraction;        /* random-crop views: this fraction of height and width */
    /* PCA / NMF baselines */
    int components, nmf_iterations;
    uint8_t origin[MTN_MAX_KEYS];
} mtn_network_config;

/* The micro-batch of a batch when the config gives none: its largest divisor up to 8. */
int mtn_default_micro_batch(int batch_size);

/* Names for printing: "ResNet-18", "SGD", "byol", ... */
const char *mtn_model_name(mtn_model_kind m);
const char *mtn_optimizer_name(mtn_optimizer o);
const char *mtn_ssl_method_name(mtn_ssl_method m);
const char *mtn_preset_name(mtn_preset p);

/* --------------------------------------------------------------- job config --- */

typedef enum {
    MTN_METHOD_SUPERVISED, MTN_METHOD_MIXUP, MTN_METHOD_BYOL, MTN_METHOD_MYOW,
    MTN_METHOD_MYOW_M, MTN_METHOD_PCA, MTN_METHOD_NMF, MTN_METHOD_SEGMENT,
    MTN_METHOD_READOUT
} mtn_method;
const char *mtn_method_name(mtn_method m);       /* "supervised", "myow-m", ... */
const char *mtn_method_row_label(mtn_method m);  /* the paper's row: "Sup w/ Mixup" */

typedef struct {
    double mixup_prob[MTN_MAX_LIST];    int n_mixup_prob;
    double learning_rate[MTN_MAX_LIST]; int n_learning_rate;
    int batch_size[MTN_MAX_LIST];       int n_batch_size;
} mtn_search;

typedef struct {
    char name[MTN_NAME_MAX];
    char row[MTN_NAME_MAX], column[MTN_NAME_MAX]; /* where report puts it */
    mtn_method method;
    /* files the task and network came from ("" when given inline in the job) */
    char task_path[MTN_PATH_MAX], network_path[MTN_PATH_MAX];
    mtn_task_config task;        /* after the run's task_overrides */
    mtn_network_config net;      /* after the run's network_overrides and the preset */
    int seeds[MTN_MAX_SEEDS];
    int n_seeds;
    mtn_search search;
    /* readout: the Task 1 run whose frozen encoder is read out, and the job holding it
     * ("" = this job); net is then that run's network */
    char encoder_job[MTN_PATH_MAX];
    char encoder_run[MTN_NAME_MAX];
    mtn_method encoder_method;
    char encoder_job_name[MTN_NAME_MAX]; /* its job's name: weights in results/<name>/weights */
    int encoder_downsample;              /* the resolution the encoder was trained at */
    /* "checkpoint": where the encoder's weights are instead, {seed} standing for the
     * seed (e.g. imported from PyTorch); "" = that run's own weights */
    char encoder_checkpoint[MTN_PATH_MAX];
} mtn_run_config;

/* The paper table a job reproduces (report prints its layout). */
typedef enum { MTN_TABLE_NONE, MTN_TABLE_1, MTN_TABLE_A3, MTN_TABLE_2, MTN_TABLE_3 } mtn_table;
const char *mtn_table_name(mtn_table t); /* "table1", "tableA3", ... ("none") */

typedef struct {
    char file[MTN_PATH_MAX];
    char name[MTN_NAME_MAX];
    char description[512];
    mtn_table table;
    char column[MTN_NAME_MAX];   /* default column of its runs, e.g. "ROI-C1" */
    char source[MTN_URI_MAX];    /* default data source: URL or "phantom" */
    int seeds[MTN_MAX_SEEDS];
    int n_seeds;
    mtn_run_config *runs;
    int n_runs;
} mtn_job_config;

/* ---------------------------------------------------------------- loading --- */

/* Each loader reads `path`, fills *out, and returns 0 or MTN_ECONFIG with the
 * message in mtn_error_message(). Ignored MTNeuro keys are logged once per process
 * (at info level) through the core log. */
int mtn_task_load(const char *path, mtn_task_config *out);
int mtn_network_load(const char *path, mtn_network_config *out);
int mtn_job_load(const char *path, mtn_job_config *out);
void mtn_job_free(mtn_job_config *job);
/* Keeps only the runs named in `names` (comma-separated), in job order: MTN_EUSAGE
 * naming an unknown one (with a "did you mean"). */
int mtn_job_select_runs(mtn_job_config *job, const char *names);

/* From a JSON text already in memory; `name` is used in messages as the file name. */
int mtn_task_parse(const char *text, const char *name, mtn_task_config *out);
int mtn_network_parse(const char *text, const char *name, mtn_network_config *out);
int mtn_job_parse(const char *text, const char *name, mtn_job_config *out);

typedef enum { MTN_KIND_UNKNOWN, MTN_KIND_TASK, MTN_KIND_NETWORK, MTN_KIND_JOB } mtn_config_kind;
/* Tells a task, network or job file apart by its keys ("runs" -> job; "image_chan" or
 * "annotation_chan" -> task; "model" or "task_type" with an optimiser key -> network). */
int mtn_config_detect(const char *path, mtn_config_kind *kind);
const char *mtn_config_kind_name(mtn_config_kind k);

/* Resolved configs as JSON: every key we use, with canonical names and values, in a
 * form that loads again to the same config. Caller frees with cJSON_Delete. */
struct cJSON *mtn_task_to_json(const mtn_task_config *t);
struct cJSON *mtn_network_to_json(const mtn_network_config *n);
struct cJSON *mtn_job_to_json(const mtn_job_config *j);

/* The ignored MTNeuro keys seen so far in this process, comma-separated (for tests
 * and for the result archive). */
const char *mtn_config_ignored_keys(void);
void mtn_config_reset_ignored(void);

#endif
