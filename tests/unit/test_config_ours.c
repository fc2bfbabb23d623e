/* test_config_ours.c — our configs/ and jobs/ load; the resolved JSON loads back to
 * the same config; presets give the paper's values (and the released code's on
 * request); job overrides and base files compose as documented. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <string.h>

#include "harness.h"
#include "mtn/config.h"

#define SRC MTN_SOURCE_DIR

static char *json_text(cJSON *o) {
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* Loads path as `kind`, prints it resolved, loads that text again, prints again:
 * both prints must be equal. */
static void roundtrip(const char *path, mtn_config_kind kind) {
    char *a = NULL, *b = NULL;
    int rc;
    if (kind == MTN_KIND_TASK) {
        mtn_task_config t, t2;
        rc = mtn_task_load(path, &t);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        a = json_text(mtn_task_to_json(&t));
        CU_ASSERT_EQUAL_FATAL(mtn_task_parse(a, "resolved", &t2), 0);
        b = json_text(mtn_task_to_json(&t2));
    } else if (kind == MTN_KIND_NETWORK) {
        mtn_network_config n, n2;
        rc = mtn_network_load(path, &n);
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        a = json_text(mtn_network_to_json(&n));
        CU_ASSERT_EQUAL_FATAL(mtn_network_parse(a, "resolved", &n2), 0);
        b = json_text(mtn_network_to_json(&n2));
    } else {
        mtn_job_config j, j2;
        rc = mtn_job_load(path, &j);
        if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        a = json_text(mtn_job_to_json(&j));
        rc = mtn_job_parse(a, "resolved.json", &j2);
        if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
        CU_ASSERT_EQUAL_FATAL(rc, 0);
        b = json_text(mtn_job_to_json(&j2));
        mtn_job_free(&j);
        mtn_job_free(&j2);
    }
    CU_ASSERT_STRING_EQUAL(a, b);
    cJSON_free(a);
    cJSON_free(b);
}

static int roundtrip_dir(const char *dir, mtn_config_kind want) {
    DIR *h = opendir(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        mtn_config_kind kind;
        CU_ASSERT_EQUAL(mtn_config_detect(path, &kind), 0);
        CU_ASSERT_EQUAL(kind, want);
        roundtrip(path, want);
        n++;
    }
    closedir(h);
    return n;
}

static void test_all_load_and_roundtrip(void) {
    mtn_log_init(0, 1, MTN_LOG_WARN, NULL);
    CU_ASSERT(roundtrip_dir(SRC "/configs/task", MTN_KIND_TASK) >= 11);
    CU_ASSERT(roundtrip_dir(SRC "/configs/network", MTN_KIND_NETWORK) >= 11);
    CU_ASSERT(roundtrip_dir(SRC "/jobs", MTN_KIND_JOB) >= 11);
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
}

static void test_paper_tables_are_covered(void) {
    static const char *jobs[] = {"table1-roi-c1", "table1-roi-c2", "table1-roi-c3", "tableA3-downsampling",
                                 "table2-2d-3class", "table2-2d-4class", "table2-3d-3class", "table2-3d-4class",
                                 "table3-roi-c1", "table3-roi-c3", "quickstart"};
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, SRC "/jobs/%s.json", jobs[i]);
        mtn_job_config j;
        CU_ASSERT_EQUAL_FATAL(mtn_job_load(path, &j), 0);
        CU_ASSERT_STRING_EQUAL(j.name, jobs[i]);
        if (strncmp(jobs[i], "table1", 6) == 0 || strncmp(jobs[i], "table3", 6) == 0) {
            CU_ASSERT_EQUAL(j.n_runs, 7); /* Supervised, Mixup, BYOL, MYOW, MYOW-m, PCA, NMF */
            CU_ASSERT_EQUAL(j.n_seeds, 5);
            CU_ASSERT_EQUAL(j.seeds[4], 872);
        }
        mtn_job_free(&j);
    }
}

static void test_roi_settings(void) {
    mtn_task_config t;
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(SRC "/configs/task/task1_roi_c2.json", &t), 0);
    CU_ASSERT_EQUAL(t.n_cubes, 4);
    CU_ASSERT_EQUAL(t.train_cubes, 1u);               /* A */
    CU_ASSERT_EQUAL(t.test_cubes, (1u << 2) | (1u << 3)); /* C, D */
    CU_ASSERT_STRING_EQUAL(t.cubes[3].name, "D");
    CU_ASSERT_EQUAL(t.cubes[3].x[MTN_REGION_ZI].start, 1799);
    CU_ASSERT_EQUAL(t.cubes[2].y[MTN_REGION_VP].stop, 1206);
    CU_ASSERT_EQUAL(t.downsample, 2);
    CU_ASSERT_EQUAL(mtn_task_tile_h(&t), 128);
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(SRC "/configs/task/task1_roi_c3.json", &t), 0);
    CU_ASSERT_EQUAL(t.train_cubes, 3u); /* A, B */
    CU_ASSERT_EQUAL(t.cubes[1].x[MTN_REGION_CTX].start, 5312);
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(SRC "/configs/task/task1_roi_c1_ds4.json", &t), 0);
    CU_ASSERT_EQUAL(mtn_task_tile_w(&t), 64);
    CU_ASSERT_STRING_EQUAL(t.name, "task1_roi_c1_ds4");
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(SRC "/configs/task/task2_3d_4class.json", &t), 0);
    CU_ASSERT_EQUAL(t.volume_z, 8);
    CU_ASSERT(t.no_zi);
    CU_ASSERT_EQUAL(mtn_task_classes(&t), 4);
}

static void test_presets(void) {
    mtn_network_config n;
    CU_ASSERT_EQUAL_FATAL(mtn_network_load(SRC "/configs/network/resnet18_supervised.json", &n), 0);
    CU_ASSERT_EQUAL(n.preset, MTN_PRESET_PAPER);
    CU_ASSERT_DOUBLE_EQUAL(n.learning_rate, 0.03, 0);
    CU_ASSERT_EQUAL(n.batch_size, 256);
    CU_ASSERT_EQUAL(n.epochs, 100);
    CU_ASSERT_DOUBLE_EQUAL(n.dropout, 0.2, 0);
    CU_ASSERT_DOUBLE_EQUAL(n.weight_decay, 0.3, 0);
    CU_ASSERT_EQUAL(n.micro_batch, 8);
    CU_ASSERT_EQUAL(n.origin[0], MTN_ORIGIN_DEFAULT); /* "base" is never set */

    static const char code[] = "{\"model\": \"ResNet-18\", \"preset\": \"code\"}";
    CU_ASSERT_EQUAL_FATAL(mtn_network_parse(code, "code.json", &n), 0);
    CU_ASSERT_DOUBLE_EQUAL(n.learning_rate, 0.01, 0);
    CU_ASSERT_EQUAL(n.batch_size, 8);
    CU_ASSERT_EQUAL(n.epochs, 1);
    CU_ASSERT_DOUBLE_EQUAL(n.dropout, 0.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(n.momentum, 0.0, 0);

    /* Table A4 */
    static const struct { const char *file; double lr; int batch; } a4[] = {
        {"unet2d_3class.json", 0.1, 8}, {"unet2d_4class.json", 0.01, 4},
        {"unet3d_3class.json", 0.005, 1}, {"unet3d_4class.json", 0.01, 1}};
    for (int i = 0; i < 4; i++) {
        char path[512];
        snprintf(path, sizeof path, SRC "/configs/network/%s", a4[i].file);
        CU_ASSERT_EQUAL_FATAL(mtn_network_load(path, &n), 0);
        CU_ASSERT_EQUAL(n.optimizer, MTN_OPT_ADAM);
        CU_ASSERT_EQUAL(n.epochs, 20);
        CU_ASSERT_DOUBLE_EQUAL(n.learning_rate, a4[i].lr, 0);
        CU_ASSERT_EQUAL(n.batch_size, a4[i].batch);
    }
    CU_ASSERT_EQUAL_FATAL(mtn_network_load(SRC "/configs/network/myowm_resnet18.json", &n), 0);
    CU_ASSERT_EQUAL(n.ssl_method, MTN_SSL_MYOW_MERGED);
    CU_ASSERT_EQUAL(n.task_type, MTN_TRAIN_SSL);
    CU_ASSERT_DOUBLE_EQUAL(n.crop_fraction, 0.5, 0);
    CU_ASSERT_EQUAL(n.ssl_epochs, 100);
    CU_ASSERT_EQUAL_FATAL(mtn_network_load(SRC "/configs/network/pca.json", &n), 0);
    CU_ASSERT_EQUAL(n.components, 256);
}

static void test_overrides(void) {
    static const char job[] =
        "{\"name\": \"o\", \"seeds\": [3], \"runs\": ["
        "{\"name\": \"code\", \"method\": \"supervised\", \"task\": \"" SRC "/configs/task/task1_roi_c1.json\","
        " \"network\": \"" SRC "/configs/network/resnet18_supervised.json\","
        " \"network_overrides\": {\"preset\": \"code\", \"epochs\": 7}, \"task_overrides\": {\"downsample\": 4}},"
        "{\"name\": \"inline\", \"method\": \"segment\", \"seeds\": [9, 10],"
        " \"task\": {\"base\": \"" SRC "/configs/task/task2_2d_3class.json\", \"name\": \"x\"},"
        " \"network\": {\"model\": \"UNet\", \"classes\": 3, \"learning_rate\": 0.05}},"
        "{\"name\": \"read\", \"method\": \"readout\", \"task\": \"" SRC "/configs/task/task3.json\","
        " \"encoder\": {\"run\": \"code\"}}]}";
    mtn_job_config j;
    int rc = mtn_job_parse(job, "overrides.json", &j);
    if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    CU_ASSERT_EQUAL(j.n_runs, 3);
    const mtn_run_config *r = &j.runs[0];
    CU_ASSERT_DOUBLE_EQUAL(r->net.learning_rate, 0.01, 0); /* preset code fills it */
    CU_ASSERT_EQUAL(r->net.epochs, 7);                      /* override beats preset */
    CU_ASSERT_EQUAL(r->task.downsample, 4);
    CU_ASSERT_EQUAL(r->n_seeds, 1);
    CU_ASSERT_EQUAL(r->seeds[0], 3);
    CU_ASSERT_STRING_EQUAL(r->row, "Supervised");
    r = &j.runs[1];
    CU_ASSERT_EQUAL(r->n_seeds, 2);
    CU_ASSERT_EQUAL(r->task.task, 2);
    CU_ASSERT_DOUBLE_EQUAL(r->net.learning_rate, 0.05, 0);
    CU_ASSERT_EQUAL(r->net.batch_size, 8); /* Table A4, 2D 3-class */
    CU_ASSERT_STRING_EQUAL(r->row, "2D U-Net");
    CU_ASSERT_STRING_EQUAL(r->task_path, "");
    r = &j.runs[2];
    CU_ASSERT_EQUAL(r->encoder_method, MTN_METHOD_SUPERVISED);
    CU_ASSERT_EQUAL(r->net.epochs, 7); /* the encoder's network */
    CU_ASSERT_STRING_EQUAL(r->row, "Supervised");
    mtn_job_free(&j);
    mtn_job_free(NULL);
}

static const mtn_test_case tests[] = {
    {"configs and jobs load and round-trip", test_all_load_and_roundtrip},
    {"a job for every paper table", test_paper_tables_are_covered},
    {"ROI-C1/C2/C3 and downsampling settings", test_roi_settings},
    {"paper and code presets, Table A4", test_presets},
    {"job overrides, inline configs, base files, readout encoders", test_overrides},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"our configs", tests}, {NULL, NULL}};
