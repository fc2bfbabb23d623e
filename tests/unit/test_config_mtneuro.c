/* test_config_mtneuro.c — every MTNeuro task and network config loads unchanged
 * (our verbatim copies in tests/data/mtneuro-configs, checked byte for byte against
 * ../shared/reference when that folder is present), with the values MTNeuro meant;
 * ignored MTNeuro keys are reported once per process. */
#include <dirent.h>
#include <string.h>

#include "harness.h"
#include "mtn/config.h"

#define DATA MTN_SOURCE_DIR "/tests/data/mtneuro-configs"

static const char *const dirs[] = {"taskconfig", "networkconfig", "historical", "later-nov2022/taskconfig"};

/* Calls fn on every .json file of DATA/dir; returns how many. */
static int for_each_json(const char *root, const char *dir, void (*fn)(const char *path, const char *name)) {
    char d[1024];
    snprintf(d, sizeof d, "%s/%s", root, dir);
    DIR *h = opendir(d);
    if (!h) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(h)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", d, e->d_name);
        fn(path, e->d_name);
        n++;
    }
    closedir(h);
    return n;
}

static void load_any(const char *path, const char *name) {
    mtn_config_kind kind;
    int rc = mtn_config_detect(path, &kind);
    if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    bool task_file = strncmp(name, "task", 4) == 0;
    CU_ASSERT_EQUAL(kind, task_file ? MTN_KIND_TASK : MTN_KIND_NETWORK);
    if (kind == MTN_KIND_TASK) {
        mtn_task_config t;
        rc = mtn_task_load(path, &t);
    } else {
        mtn_network_config n;
        rc = mtn_network_load(path, &n);
    }
    if (rc) fprintf(stderr, "\n%s\n", mtn_error_message());
    CU_ASSERT_EQUAL(rc, 0);
}

static void test_every_file_loads(void) {
    int total = 0;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        int n = for_each_json(DATA, dirs[i], load_any);
        CU_ASSERT(n > 0);
        total += n;
    }
    CU_ASSERT_EQUAL(total, 6 + 8 + 9 + 1); /* every file of the copy */
}

static void test_task_values(void) {
    mtn_task_config t;
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(DATA "/taskconfig/task1.json", &t), 0);
    CU_ASSERT_EQUAL(t.task, 1);
    CU_ASSERT_EQUAL(mtn_task_classes(&t), 4);
    CU_ASSERT_EQUAL(t.cubes[0].x[MTN_REGION_CTX].start, 4600);
    CU_ASSERT_EQUAL(t.cubes[0].x[MTN_REGION_CTX].stop, 4856);
    CU_ASSERT_EQUAL(t.cubes[0].y[MTN_REGION_ZI].start, 650);
    CU_ASSERT_EQUAL(t.cubes[0].x[MTN_REGION_VP].start, 3063);
    CU_ASSERT_EQUAL(t.cubes[0].z.start, 110);
    CU_ASSERT_EQUAL(t.cubes[0].z.stop, 471);
    CU_ASSERT_EQUAL(t.z_train.start, 110);
    CU_ASSERT_EQUAL(t.z_train.stop, 379);
    CU_ASSERT_EQUAL(t.z_test.stop, 470);
    CU_ASSERT_EQUAL(t.tile_size[0], 256);
    CU_ASSERT_EQUAL(t.downsample, 1);
    CU_ASSERT_STRING_EQUAL(t.annotation_chan, "bossdb://prasad/prasad_analysis/roi_labels");

    CU_ASSERT_EQUAL_FATAL(mtn_task_load(DATA "/taskconfig/task2_3D_3class.json", &t), 0);
    CU_ASSERT_EQUAL(t.task, 2);
    CU_ASSERT_EQUAL(t.volume_z, 8);
    CU_ASSERT(t.combine_ax_and_bg && !t.no_zi);
    CU_ASSERT_EQUAL(mtn_task_classes(&t), 3);
    CU_ASSERT_EQUAL(mtn_task_regions(&t), 0xFu);

    CU_ASSERT_EQUAL_FATAL(mtn_task_load(DATA "/taskconfig/task2_2D_4class.json", &t), 0);
    CU_ASSERT_EQUAL(mtn_task_classes(&t), 4);
    CU_ASSERT_EQUAL(mtn_task_regions(&t), 0x7u);

    CU_ASSERT_EQUAL_FATAL(mtn_task_load(DATA "/taskconfig/task3.json", &t), 0);
    CU_ASSERT_EQUAL(t.task, 3);
    CU_ASSERT_EQUAL_FATAL(mtn_task_load(DATA "/later-nov2022/taskconfig/task3.json", &t), 0);
    CU_ASSERT_EQUAL(t.task, 3); /* its z_train overlaps z_test on purpose: allowed for Task 3 */
    CU_ASSERT_EQUAL(t.z_train.stop, 470);

    CU_ASSERT_EQUAL_FATAL(mtn_task_load(DATA "/historical/task1_tile64_710a4ca.json", &t), 0);
    CU_ASSERT_EQUAL(t.tile_size[1], 64);
}

static void test_network_values(void) {
    mtn_network_config n;
    CU_ASSERT_EQUAL_FATAL(mtn_network_load(DATA "/networkconfig/SUP_ResNet-18_2D.json", &n), 0);
    CU_ASSERT_EQUAL(n.model, MTN_MODEL_RESNET18);
    CU_ASSERT_EQUAL(n.task_type, MTN_TRAIN_SUPERVISED);
    CU_ASSERT_EQUAL(n.optimizer, MTN_OPT_SGD);
    CU_ASSERT_DOUBLE_EQUAL(n.learning_rate, 0.01, 0); /* the file's values win over the preset */
    CU_ASSERT_EQUAL(n.batch_size, 8);
    CU_ASSERT_EQUAL(n.epochs, 1);
    CU_ASSERT_EQUAL(n.classes, 4);

    CU_ASSERT_EQUAL_FATAL(mtn_network_load(DATA "/networkconfig/SSL_BYOL_ResNet-18_2D.json", &n), 0);
    CU_ASSERT_EQUAL(n.task_type, MTN_TRAIN_SSL);
    CU_ASSERT_EQUAL(n.ssl_method, MTN_SSL_BYOL);
    CU_ASSERT_EQUAL(n.ssl_epochs, 800);
    CU_ASSERT_DOUBLE_EQUAL(n.base_learning_rate, 0.03, 0);
    CU_ASSERT_DOUBLE_EQUAL(n.base_momentum, 0.996, 0);
    CU_ASSERT_EQUAL(n.projector_hidden_size, 4096);
    CU_ASSERT_EQUAL(n.projector_2_output_size, 64);
    CU_ASSERT_EQUAL(n.optimizer, MTN_OPT_ADAM); /* the linear probe */
    CU_ASSERT_EQUAL(n.epochs, 100);
    CU_ASSERT_DOUBLE_EQUAL(n.weight_decay, 5e-4, 0);
    CU_ASSERT_DOUBLE_EQUAL(n.momentum, 0.9, 0);

    CU_ASSERT_EQUAL_FATAL(mtn_network_load(DATA "/networkconfig/SSL_MYOWMerged_ResNet-18_2D.json", &n), 0);
    CU_ASSERT_EQUAL(n.ssl_method, MTN_SSL_MYOW_MERGED);
    CU_ASSERT_DOUBLE_EQUAL(n.myow_base_weight, 0.1, 0);
    CU_ASSERT_EQUAL(n.myow_rampup_epochs, 10);
    CU_ASSERT_EQUAL(n.knn_nneighs, 1);

    CU_ASSERT_EQUAL_FATAL(mtn_network_load(DATA "/networkconfig/UNet_3D_4class.json", &n), 0);
    CU_ASSERT_EQUAL(n.model, MTN_MODEL_UNET);
    CU_ASSERT_EQUAL(n.dim, 3);
    CU_ASSERT_EQUAL(n.classes, 4);
    CU_ASSERT_EQUAL(n.n_blocks, 4);
    CU_ASSERT_EQUAL(n.start_filters, 32);
    CU_ASSERT_EQUAL(n.batch_size, 1);
    CU_ASSERT_EQUAL(n.epochs, 5);
}

static void test_ignored_reported_once(void) {
    mtn_config_reset_ignored();
    FILE *f = mtn_test_capture_open();
    mtn_log_init(0, 1, MTN_LOG_INFO, f);
    mtn_network_config n;
    CU_ASSERT_EQUAL(mtn_network_load(DATA "/networkconfig/UNet_2D_3class.json", &n), 0);
    CU_ASSERT_EQUAL(mtn_network_load(DATA "/networkconfig/UNet_2D_4class.json", &n), 0);
    mtn_task_config t;
    CU_ASSERT_EQUAL(mtn_task_load(DATA "/later-nov2022/taskconfig/task3.json", &t), 0);
    char *text = mtn_test_capture_text(f);
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
    int outputdir = 0;
    for (const char *p = text; (p = strstr(p, "\"outputdir\"")) != NULL; p++) outputdir++;
    CU_ASSERT_EQUAL(outputdir, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ignoring MTNeuro key \"encoder_weights\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "ignoring MTNeuro key \"encoder_path\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(mtn_config_ignored_keys(), "eval_threshold"));
    CU_ASSERT_PTR_NULL(strstr(mtn_config_ignored_keys(), "learning_rate"));
    free(text);
    fclose(f);
}

/* ---- our copies equal the reference folder, when it is here ---- */

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

static const char *current_dir;
static void compare_with_shared(const char *path, const char *name) {
    char ours[2048];
    snprintf(ours, sizeof ours, "%s/%s/%s", DATA, current_dir, name);
    size_t la = 0, lb = 0;
    char *a = slurp(path, &la), *b = slurp(ours, &lb);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (a && b) CU_ASSERT(la == lb && memcmp(a, b, la) == 0);
    if (!b || la != lb) fprintf(stderr, "\n%s differs from %s\n", ours, path);
    free(a);
    free(b);
}

static void test_copies_are_verbatim(void) {
    const char *shared = MTN_SHARED_DIR "/reference/mtneuro-configs";
    DIR *h = opendir(shared);
    if (!h) {
        fprintf(stderr, "\n(%s is absent here: the byte-for-byte comparison is skipped)\n", shared);
        return;
    }
    closedir(h);
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        current_dir = dirs[i];
        CU_ASSERT(for_each_json(shared, dirs[i], compare_with_shared) > 0);
    }
}

static const mtn_test_case tests[] = {
    {"every MTNeuro config file loads unchanged", test_every_file_loads},
    {"task configs mean what MTNeuro meant", test_task_values},
    {"network configs mean what MTNeuro meant", test_network_values},
    {"ignored MTNeuro keys are reported once", test_ignored_reported_once},
    {"our copies equal ../shared/reference", test_copies_are_verbatim},
    {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"mtneuro configs", tests}, {NULL, NULL}};
