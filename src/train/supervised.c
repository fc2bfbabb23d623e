/* supervised.c — one seed of a supervised run in its seed group: Task 1's ResNet-18
 * (with mixup when the run has a mixup probability; accuracy on whole images and
 * quadrants) or Task 2's 2D / 3D U-Net (per-pixel cross-entropy; F1 and IoU per
 * class), trained by data-parallel SGD or Adam whose bits do not depend on the
 * number of ranks or threads (design §4). Each rank holds a contiguous share
 * of every global batch; BatchNorm and the loss combine their sums across the
 * group inside forward and backward (nn's shares), and the gradients are summed in
 * fused buckets after backward, both in the fixed tree over the rank index. The
 * training state is checkpointed every N steps, at each epoch's end and when a stop
 * signal arrives; a resume continues with the same bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mtn/eval.h"
#include "runner_internal.h"

enum { BUCKET_FLOATS = 1 << 20 }; /* 4 MB buckets: large messages, few of them */

static void combine_partials(void *ctx, float *partial, size_t count) {
    mtn_reducer_sum(ctx, partial, count);
}

/* Everything one seed's training holds, allocated once before the first step. */
typedef struct {
    mtn_exec *ex;
    mtn_model *model, *quad;
    mtn_reducer *reducer;
    float *x, *xm, *soft, *dlogits, *whole_save, *momentum, *second;
    int32_t *y;
    uint32_t *order, *ids, *perm, *pair;
    int64_t *scratch;
    evaluator ev;
    int64_t n_whole;          /* floats of grad_whole tensors */
    int classes;
    bool segment;             /* Task 2: labels and logits per pixel */
    size_t sample;            /* input floats per sample (depth x height x width) */
    int64_t pixels;           /* labels per sample: 1, or sample for segmentation */
} trainer;

static void trainer_free(trainer *t) {
    mtn_model_free(t->model);
    mtn_model_free(t->quad);
    mtn_exec_free(t->ex);
    mtn_reducer_free(t->reducer);
    free(t->x);
    free(t->xm);
    free(t->soft);
    free(t->dlogits);
    free(t->whole_save);
    free(t->momentum);
    free(t->second);
    free(t->y);
    free(t->order);
    free(t->ids);
    free(t->perm);
    free(t->pair);
    free(t->scratch);
    free(t->ev.xq);
    free(t->ev.pred);
}

/* BatchNorm's gradients are the whole batch's already: kept out of the sum. */
static void whole_grads(mtn_model *m, float *save, bool restore) {
    float *g = mtn_model_grads(m);
    int64_t at = 0;
    for (int i = 0; i < mtn_model_n_tensors(m); i++) {
        const mtn_tensor_info *t = mtn_model_tensor(m, i);
        if (t->kind != MTN_TENSOR_PARAM || !t->grad_whole) continue;
        if (restore) memcpy(g + t->offset, save + at, sizeof(float) * (size_t)t->numel);
        else memcpy(save + at, g + t->offset, sizeof(float) * (size_t)t->numel);
        at += t->numel;
    }
}

static int64_t count_whole(mtn_model *m) {
    int64_t n = 0;
    for (int i = 0; i < mtn_model_n_tensors(m); i++) {
        const mtn_tensor_info *t = mtn_model_tensor(m, i);
        if (t->kind == MTN_TENSOR_PARAM && t->grad_whole) n += t->numel;
    }
    return n;
}

static void *alloc_n(size_t n, size_t size) { return calloc(n ? n : 1, size); }

/* The run's model at this rank's batch: ResNet-18 with its head, or the U-Net. */
static mtn_model_spec model_spec(const seed_job *j, int batch_local, int micro, int classes) {
    const mtn_network_config *net = &j->run->net;
    mtn_model_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.in_channels = 1;
    spec.classes = classes;
    spec.batch = batch_local;
    spec.micro = micro;
    spec.depth = mtn_dataset_depth(j->data);
    spec.height = mtn_dataset_tile_h(j->data);
    spec.width = mtn_dataset_tile_w(j->data);
    if (net->model == MTN_MODEL_UNET) {
        spec.arch = MTN_ARCH_UNET;
        spec.dims = net->dim;
        spec.n_blocks = net->n_blocks;
        spec.start_filters = net->start_filters;
    } else {
        spec.arch = MTN_ARCH_RESNET18;
        spec.head = true;
        spec.dropout = (float)net->dropout;
    }
    return spec;
}

static int trainer_create(trainer *t, seed_job *j, int batch_local, int micro) {
    memset(t, 0, sizeof *t);
    const mtn_network_config *net = &j->run->net;
    int H = mtn_dataset_tile_h(j->data), W = mtn_dataset_tile_w(j->data);
    const int classes = mtn_task_classes(&j->run->task);
    t->classes = classes;
    t->segment = net->model == MTN_MODEL_UNET;
    mtn_model_spec spec = model_spec(j, batch_local, micro, classes);
    int rc = mtn_exec_create(j->threads, &t->ex);
    if (!rc) rc = mtn_model_create(&spec, t->ex, &t->model);
    if (!rc && !t->segment) {
        mtn_model_spec q = spec;
        q.batch = 4 * batch_local;
        q.micro = 4 * micro;
        q.height = H / 2;
        q.width = W / 2;
        rc = mtn_model_create(&q, t->ex, &t->quad);
    }
    if (!rc) rc = mtn_reducer_create(j->comm, (size_t)mtn_model_n_params(t->model), BUCKET_FLOATS, &t->reducer);
    if (rc) return rc;
    if (j->size > 1) mtn_exec_set_share(t->ex, j->rank, j->size, combine_partials, t->reducer);
    size_t sample = (size_t)spec.depth * (size_t)H * (size_t)W, two = 2 * (size_t)batch_local;
    t->sample = sample;
    t->pixels = t->segment ? (int64_t)sample : 1;
    size_t labels = two * (size_t)t->pixels;
    int64_t n_train = mtn_dataset_count(j->data, MTN_SPLIT_TRAIN);
    t->n_whole = count_whole(t->model);
    t->x = alloc_n(two * sample, sizeof(float));
    t->xm = alloc_n(two * sample, sizeof(float));
    t->soft = alloc_n(two * (size_t)classes, sizeof(float));
    t->dlogits = alloc_n((size_t)batch_local * (size_t)classes * (size_t)t->pixels, sizeof(float));
    t->whole_save = alloc_n((size_t)t->n_whole, sizeof(float));
    t->momentum = alloc_n((size_t)mtn_model_n_params(t->model), sizeof(float));
    if (net->optimizer == MTN_OPT_ADAM) t->second = alloc_n((size_t)mtn_model_n_params(t->model), sizeof(float));
    t->y = alloc_n(labels, sizeof(int32_t));
    t->order = alloc_n((size_t)n_train, sizeof(uint32_t));
    t->ids = alloc_n(two, sizeof(uint32_t));
    t->perm = alloc_n((size_t)batch_local * (size_t)j->size, sizeof(uint32_t));
    t->pair = alloc_n(two, sizeof(uint32_t));
    t->scratch = alloc_n(two, sizeof(int64_t));
    float *xq = t->segment ? NULL : alloc_n(two * sample, sizeof(float));
    int32_t *pred = t->segment ? alloc_n(sample, sizeof(int32_t)) : NULL;
    t->ev = (evaluator){t->model, t->quad, t->x, xq, t->y, t->scratch, t->ids, net->input_norm == MTN_NORM_IMAGE,
                        t->segment, pred};
    if (!t->x || !t->xm || !t->soft || !t->dlogits || !t->whole_save || !t->momentum || !t->y || !t->order ||
        !t->ids || !t->perm || !t->pair || !t->scratch || (!xq && !t->segment) || (!pred && t->segment) ||
        (net->optimizer == MTN_OPT_ADAM && !t->second))
        return mtn_error_set(MTN_ENOMEM, "run %s: out of memory for training buffers", j->run->name);
    /* mixup pairs sample i with its partner, read into row L + i (and back) */
    for (int i = 0; i < batch_local; i++) {
        t->pair[i] = (uint32_t)(batch_local + i);
        t->pair[batch_local + i] = (uint32_t)i;
    }
    mtn_model_init(t->model, (uint64_t)j->seed);
    return MTN_OK;
}

/* Copies the trained weights into the quadrant model (same tensors, other sizes). */
static void sync_quad(trainer *t) {
    if (!t->quad) return;
    memcpy(mtn_model_params(t->quad), mtn_model_params(t->model), sizeof(float) * (size_t)mtn_model_n_params(t->model));
    memcpy(mtn_model_buffers(t->quad), mtn_model_buffers(t->model),
           sizeof(float) * (size_t)mtn_model_n_buffers(t->model));
}

static int checkpoint(seed_job *j, trainer *t, mtn_train_state *st) {
    int rc = MTN_OK;
    if (j->rank == 0) {
        st->momentum = t->momentum;
        st->second_moment = t->second;
        rc = mtn_checkpoint_save_state(j->ckpt_path, t->model, st);
    }
    return mtn_agree(rc, j->comm);
}

/* The score model selection uses: validation accuracy, or a segmenter's pooled mean
 * F1 over classes. */
static int validation_score(seed_job *j, trainer *t, double *score) {
    int64_t conf[MTN_MAX_CLASSES * MTN_MAX_CLASSES], counts[3 * MTN_MAX_CLASSES];
    int rc = evaluate_split(j, &t->ev, MTN_SPLIT_VAL, t->classes, conf, NULL, NULL);
    if (rc || !t->segment) {
        *score = confusion_accuracy(conf, t->classes);
        return rc;
    }
    double f1[MTN_MAX_CLASSES], iou[MTN_MAX_CLASSES], sum = 0;
    mtn_seg_counts_of_confusion(conf, t->classes, counts);
    mtn_seg_scores(counts, t->classes, f1, iou);
    for (int c = 0; c < t->classes; c++) sum += f1[c];
    *score = sum / t->classes;
    return MTN_OK;
}

/* K x K counts, spread into the result's MTN_MAX_CLASSES rows */
static void spread(int64_t dst[MTN_MAX_CLASSES][MTN_MAX_CLASSES], const int64_t *c, int k) {
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) dst[a][b] = c[a * k + b];
}

static int test_classification(seed_job *j, trainer *t, mtn_seed_result *res) {
    int64_t c[MTN_MAX_CLASSES * MTN_MAX_CLASSES], q[MTN_MAX_CLASSES * MTN_MAX_CLASSES];
    int rc = evaluate_split(j, &t->ev, MTN_SPLIT_TEST, t->classes, c, q, NULL);
    if (rc) return rc;
    spread(res->confusion, c, t->classes);
    spread(res->quadrant_confusion, q, t->classes);
    res->accuracy = confusion_accuracy(c, t->classes);
    res->quadrant_accuracy = confusion_accuracy(q, t->classes);
    return MTN_OK;
}

/* Pixel accuracy, per-class F1 and IoU pooled over every test pixel and averaged
 * over test samples (a 3D sub-volume counts as one). */
static int test_segmentation(seed_job *j, trainer *t, mtn_seed_result *res) {
    const int k = t->classes;
    int64_t n = mtn_dataset_count(j->data, MTN_SPLIT_TEST);
    int64_t c[MTN_MAX_CLASSES * MTN_MAX_CLASSES], pooled[3 * MTN_MAX_CLASSES];
    int64_t *per_image = malloc(sizeof(int64_t) * (size_t)(n * 3 * k + 1));
    if (!per_image) return mtn_error_set(MTN_ENOMEM, "run %s: out of memory for test counts", j->run->name);
    int rc = evaluate_split(j, &t->ev, MTN_SPLIT_TEST, k, c, NULL, per_image);
    if (!rc) {
        spread(res->confusion, c, k);
        res->accuracy = confusion_accuracy(c, k);
        res->quadrant_accuracy = NAN;
        mtn_seg_counts_of_confusion(c, k, pooled);
        mtn_seg_scores(pooled, k, res->f1, res->iou);
        double f1[MTN_MAX_CLASSES], iou[MTN_MAX_CLASSES];
        for (int64_t i = 0; i < n; i++) {
            mtn_seg_scores(per_image + i * 3 * k, k, f1, iou);
            for (int a = 0; a < k; a++) {
                res->f1_image[a] += f1[a];
                res->iou_image[a] += iou[a];
            }
        }
        for (int a = 0; a < k; a++) {
            res->f1_image[a] /= (double)(n ? n : 1);
            res->iou_image[a] /= (double)(n ? n : 1);
        }
    }
    free(per_image);
    return rc;
}

static bool file_exists(const char *p) {
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    return f != NULL;
}

int train_supervised(seed_job *j, mtn_seed_result *res) {
    const mtn_run_config *run = j->run;
    const mtn_network_config *net = &run->net;
    const int classes = mtn_task_classes(&run->task), B = net->batch_size, R = j->size;
    int micro = 0;
    int rc = choose_micro(run, B, R, &micro);
    if (rc) return rc;
    int L = B / R;
    int64_t n_train = mtn_dataset_count(j->data, MTN_SPLIT_TRAIN);
    if (n_train < B)
        return mtn_error_set(MTN_ECONFIG, "run %s: batch_size %d is larger than the training split (%lld samples)",
                             run->name, B, (long long)n_train);
    int64_t per_epoch = n_train / B, total = per_epoch * net->epochs;
    trainer t;
    rc = trainer_create(&t, j, L, micro);
    rc = mtn_agree(rc, j->comm);
    mtn_train_state st;
    memset(&st, 0, sizeof st);
    run_fingerprint(j, st.fingerprint, sizeof st.fingerprint);
    st.momentum = t.momentum;
    st.second_moment = t.second;
    st.result = res;
    st.result_bytes = (int64_t)sizeof *res;
    if (!rc && j->resume && file_exists(j->ckpt_path)) {
        rc = mtn_checkpoint_load_state(j->ckpt_path, t.model, &st);
        rc = mtn_agree(rc, j->comm);
        if (!rc && st.done) { /* finished before: its result is in the checkpoint */
            trainer_free(&t);
            return MTN_OK;
        }
    }
    if (rc) {
        trainer_free(&t);
        return rc;
    }
    const size_t sample = t.sample;
    mtn_sgd sgd = {net->learning_rate, net->momentum, net->weight_decay};
    mtn_adam adam = {net->learning_rate, net->beta1, net->beta2, 1e-8, net->weight_decay};
    double t_compute = 0, t_comm = 0, t_io = 0, t_start = mtn_now();
    int64_t steps_here = 0, order_epoch = -1;
    mtn_progress prog;
    char label[96];
    snprintf(label, sizeof label, "%s seed %d", run->name, j->seed);
    mtn_progress_opts po = {NULL, MTN_PROGRESS_AUTO, 0, NULL};
    mtn_progress_begin(&prog, label, total, &po);
    prog.silent = prog.silent || !j->progress;
    while (!rc && st.step < total) {
        int64_t step = st.step, epoch = step / per_epoch, at = (step % per_epoch) * B;
        double t0 = mtn_now();
        if (order_epoch != epoch) {
            epoch_order((uint64_t)j->seed, epoch, (uint32_t)n_train, t.order);
            order_epoch = epoch;
        }
        for (int i = 0; i < L; i++) t.ids[i] = t.order[at + j->rank * L + i];
        rc = read_samples(j->data, MTN_SPLIT_TRAIN, t.ids, L, t.scratch, t.x, t.y);
        /* mixup: with probability mixup_prob the batch is blended with a permutation
         * of itself, lambda ~ Beta(alpha, alpha), drawn from (seed, step) alone */
        mtn_rng mr;
        mtn_rng_init(&mr, (uint64_t)j->seed, MTN_STREAM_MIXUP, (uint64_t)step << 20);
        bool mix = !t.segment && net->mixup_prob > 0 && mtn_rng_uniform(&mr) < net->mixup_prob;
        float lambda = 1.0f;
        if (!rc && mix) {
            lambda = (float)mtn_rng_beta(&mr, net->mixup_alpha, net->mixup_alpha);
            mtn_rng_permutation(&mr, (uint32_t)B, t.perm);
            for (int i = 0; i < L; i++) t.ids[L + i] = t.order[at + t.perm[j->rank * L + i]];
            rc = read_samples(j->data, MTN_SPLIT_TRAIN, t.ids + L, L, t.scratch + L, t.x + (size_t)L * sample,
                              t.y + L);
        }
        rc = mtn_agree(rc, j->comm);
        if (rc) break;
        if (net->input_norm == MTN_NORM_IMAGE) standardise_images(t.x, mix ? 2 * L : L, sample);
        double t1 = mtn_now();
        t_io += t1 - t0;
        double comm_before = mtn_reducer_seconds(t.reducer);
        const float *input = t.x;
        if (mix) {
            mtn_mixup(t.xm, t.soft, t.x, t.y, t.pair, lambda, 2 * L, (int64_t)sample, classes);
            input = t.xm;
        }
        const float *logits = mtn_model_forward(t.model, input, L, true, (uint64_t)j->seed, (uint64_t)step);
        double loss = mix ? mtn_xent_soft_forward_backward(t.ex, t.dlogits, logits, t.soft, L, classes, micro)
                          : mtn_xent_forward_backward(t.ex, t.dlogits, logits, t.y, L, classes, t.pixels, micro);
        mtn_model_zero_grad(t.model);
        mtn_model_backward(t.model, t.dlogits);
        double t2 = mtn_now();
        whole_grads(t.model, t.whole_save, false);
        mtn_reducer_sum(t.reducer, mtn_model_grads(t.model), (size_t)mtn_model_n_params(t.model));
        whole_grads(t.model, t.whole_save, true);
        double t3 = mtn_now();
        if (t.second)
            mtn_adam_step(t.ex, mtn_model_params(t.model), t.momentum, t.second, mtn_model_grads(t.model),
                          mtn_model_n_params(t.model), &adam, step + 1);
        else
            mtn_sgd_step(t.ex, mtn_model_params(t.model), t.momentum, mtn_model_grads(t.model),
                         mtn_model_n_params(t.model), &sgd, step == 0);
        double t4 = mtn_now();
        /* communication: the bucket sums, and BatchNorm's and the loss's combines
         * inside forward and backward */
        double comm_inside = (mtn_reducer_seconds(t.reducer) - comm_before) - (t3 - t2);
        t_comm += (t3 - t2) + comm_inside;
        t_compute += (t2 - t1) - comm_inside + (t4 - t3);
        st.epoch_loss_sum += loss;
        st.step++;
        steps_here++;
        bool epoch_end = st.step % per_epoch == 0;
        if (epoch_end) {
            int64_t e = st.epochs_done;
            st.train_loss[e] = st.epoch_loss_sum / (double)per_epoch;
            st.epoch_loss_sum = 0;
            rc = validation_score(j, &t, &st.val_accuracy[e]);
            st.epochs_done++;
            if (j->progress)
                MTN_INFO("%s seed %d: epoch %lld/%d: train loss %.4f, val %s %.3f", run->name, j->seed,
                         (long long)st.epochs_done, net->epochs, st.train_loss[e],
                         t.segment ? "mean F1" : "accuracy", st.val_accuracy[e]);
        }
        int stop = mtn_stop_requested();
        MPI_Allreduce(MPI_IN_PLACE, &stop, 1, MPI_INT, MPI_MAX, j->comm);
        bool due = epoch_end || stop || (j->checkpoint_every > 0 && st.step % j->checkpoint_every == 0);
        if (!rc && due && st.step < total) rc = checkpoint(j, &t, &st);
        char note[64];
        snprintf(note, sizeof note, "epoch %lld loss %.4f", (long long)(epoch + 1), loss);
        mtn_progress_update(&prog, st.step, note);
        if (!rc && stop && st.step < total) {
            mtn_progress_end(&prog, "stopped");
            trainer_free(&t);
            return mtn_error_set(MTN_EREQUEUE, "run %s seed %d: stopped by a signal after step %lld; checkpoint %s",
                                 run->name, j->seed, (long long)st.step, j->ckpt_path);
        }
    }
    mtn_progress_end(&prog, rc ? "failed" : "done");
    double train_s = mtn_now() - t_start;
    memset(res, 0, sizeof *res);
    if (!rc) {
        double e0 = mtn_now();
        sync_quad(&t);
        rc = t.segment ? test_segmentation(j, &t, res) : test_classification(j, &t, res);
        res->eval_seconds = mtn_now() - e0;
    }
    if (!rc) {
        res->seed = j->seed;
        res->classes = classes;
        res->epochs = (int32_t)st.epochs_done;
        res->ok = 1;
        memcpy(res->train_loss, st.train_loss, sizeof(double) * (size_t)st.epochs_done);
        memcpy(res->val_accuracy, st.val_accuracy, sizeof(double) * (size_t)st.epochs_done);
        res->steps = st.step;
        res->train_seconds = train_s;
        double n = steps_here ? (double)steps_here : 1.0;
        res->step_compute_s = t_compute / n;
        res->step_comm_s = t_comm / n;
        res->step_io_s = t_io / n;
        res->weights_crc = (uint32_t)crc32(0L, (const Bytef *)mtn_model_params(t.model),
                                           (uInt)(sizeof(float) * (size_t)mtn_model_n_params(t.model)));
        st.done = 1;
        if (j->rank == 0) {
            rc = mtn_checkpoint_save(j->final_path, t.model);
            if (!rc) rc = mtn_checkpoint_save_state(j->ckpt_path, t.model, &st);
        }
        rc = mtn_agree(rc, j->comm);
    }
    trainer_free(&t);
    return rc;
}
