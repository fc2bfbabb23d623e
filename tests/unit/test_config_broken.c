/* test_config_broken.c — table-driven: broken task, network and job configs must
 * each fail with MTN_ECONFIG and a message that names the file, the key path, what
 * was expected and what was found (line and column for syntax errors). */
#include <string.h>

#include "harness.h"
#include "mtn/config.h"

typedef enum { TASK, NETWORK, JOB } kind;

typedef struct {
    kind kind;
    const char *file;       /* written under the test's temporary directory */
    const char *text;
    const char *expect[3];  /* substrings the message must contain */
} broken_case;

#define CHANS "\"name\": \"t\", \"image_chan\": \"bossdb://prasad/prasad2020/image\", " \
              "\"annotation_chan\": \"bossdb://prasad/prasad_analysis/roi_labels\""
#define XY_CTX "\"xrange_cor\": [4600, 4856], \"yrange_cor\": [900, 1156]"
#define XY_REST "\"xrange_stri\": [3700, 3956], \"yrange_stri\": [500, 756], \"xrange_vp\": [3063, 3319], " \
                "\"yrange_vp\": [850, 1106], \"xrange_zi\": [1543, 1799], \"yrange_zi\": [650, 906]"
#define SPLITS "\"z_train\": [110, 379], \"z_val\": [380, 409], \"z_test\": [420, 470]"
#define TASK_OK(extra) "{" CHANS ", " XY_CTX ", " XY_REST ", " SPLITS extra "}"
#define CUBE_B(z) "\"B\": {\"xrange_cor\": [5312, 5568], \"yrange_cor\": [388, 644], \"xrange_stri\": [3828, 4084], " \
    "\"yrange_stri\": [912, 1168], \"xrange_vp\": [2551, 2807], \"yrange_vp\": [850, 1106], " \
    "\"xrange_zi\": [1287, 1543], \"yrange_zi\": [906, 1162]" z "}"
#define CFG MTN_SOURCE_DIR "/configs"
#define RUN(method, task, net) "{\"name\": \"a\", \"method\": \"" method "\", \"task\": \"" CFG "/task/" task \
    "\", \"network\": \"" CFG "/network/" net "\""
#define JOB(runs) "{\"name\": \"j\", \"runs\": [" runs "]}"

static const broken_case cases[] = {
    /* syntax and structure */
    {TASK, "comma.json", "{\n  \"name\": \"t\"\n  \"task\": 1\n}", {"comma.json:3:3:", "JSON syntax error", "'\"task\": 1'"}},
    {TASK, "empty.json", "  \n", {"empty.json", "expected a JSON object, found an empty file"}},
    {TASK, "array.json", "[1, 2]", {"array.json", "expected a JSON object at the top level, found [1,2]"}},
    {TASK, "twice.json", "{\"name\": \"a\", \"name\": \"b\"}", {"twice.json", "key \"name\" appears twice"}},
    {TASK, "garbage.json", "{}\nx", {"garbage.json:2:1:", "found 'x'"}},
    {TASK, "unterminated.json", "{\"name\": \"abc", {"unterminated.json:1:", "JSON syntax error"}},
    /* task configs */
    {TASK, "typo.json", TASK_OK(", \"z_trian\": [1, 2]"), {"typo.json", "z_trian: unknown task config key", "did you mean \"z_train\"?"}},
    {TASK, "reversed.json", "{" CHANS ", " XY_CTX ", " XY_REST ", \"z_train\": [379, 110], \"z_val\": [380, 409], \"z_test\": [420, 470]}",
     {"reversed.json: z_train: expected a half-open range [start, stop)", "start < stop <= 720", "found [379,110]"}},
    {TASK, "frame.json", "{" CHANS ", \"xrange_cor\": [5800, 6056], \"yrange_cor\": [900, 1156], " XY_REST ", " SPLITS "}",
     {"frame.json: xrange_cor", "stop <= 5805", "found [5800,6056]"}},
    {TASK, "negative.json", "{" CHANS ", \"xrange_cor\": [4600, 4856], \"yrange_cor\": [-1, 255], " XY_REST ", " SPLITS "}",
     {"negative.json: yrange_cor", "0 <= start", "found [-1,255]"}},
    {TASK, "arity.json", TASK_OK(", \"zrange\": [110, 200, 470]"), {"arity.json: zrange", "half-open range", "found [110,200,470]"}},
    {TASK, "fraction.json", TASK_OK(", \"zrange\": [110.5, 470]"), {"fraction.json: zrange", "of integers", "found [110.5,470]"}},
    {TASK, "string.json", TASK_OK(", \"volume_z\": \"8\""), {"string.json: volume_z: expected an integer from 1 to 720", "found \"8\""}},
    {TASK, "tile0.json", TASK_OK(", \"tile_size\": [0, 256]"), {"tile0.json: tile_size: expected a pair", "from 1 to 5805", "found [0,256]"}},
    {TASK, "tile100.json", TASK_OK(", \"tile_size\": [100, 100]"), {"tile100.json: yrange_cor", "tile_size[0] = 100 divides", "found 256"}},
    {TASK, "ds3.json", TASK_OK(", \"downsample\": 3"), {"ds3.json: downsample: expected 1, 2 or 4, found 3"}},
    {TASK, "missing.json", "{\"name\": \"t\", \"image_chan\": \"bossdb://a/b/c\", " XY_CTX ", " XY_REST ", " SPLITS "}",
     {"missing.json: annotation_chan: required task config key is missing"}},
    {TASK, "uri.json", "{\"name\": \"t\", \"image_chan\": \"bossdb://prasad/image\", \"annotation_chan\": \"bossdb://a/b/c\", " XY_CTX ", " XY_REST ", " SPLITS "}",
     {"uri.json: image_chan: expected a URI bossdb://collection/experiment/channel", "found \"bossdb://prasad/image\""}},
    {TASK, "overlap.json", "{" CHANS ", " XY_CTX ", " XY_REST ", \"z_train\": [110, 390], \"z_val\": [380, 409], \"z_test\": [420, 470]}",
     {"overlap.json: z_val: expected slices disjoint from z_train [110, 390)", "found [380, 409)"}},
    {TASK, "outside.json", TASK_OK(", \"zrange\": [110, 415]"), {"outside.json: z_test: expected a range inside zrange [110, 415)", "found [420, 470)"}},
    {TASK, "tasktype.json", "{" CHANS ", \"task\": 2, " XY_CTX ", " XY_REST ", " SPLITS ", \"task_type\": \"3class\", \"combine_ax_and_bg\": 0}",
     {"tasktype.json: task_type: expected combine_ax_and_bg = 1 and noZI = 0 for task_type \"3class\"", "found 0 and 0"}},
    {TASK, "bool.json", TASK_OK(", \"combine_ax_and_bg\": 2"), {"bool.json: combine_ax_and_bg: expected true/false or 0/1, found 2"}},
    {TASK, "enum.json", TASK_OK(", \"task_type\": \"4class\""), {"enum.json: task_type: expected one of \"normal\", \"3class\", \"noZI\"", "found \"4class\""}},
    {TASK, "cube_a.json", TASK_OK(", \"cubes\": {\"A\": {}}"), {"cube_a.json: cubes.A", "cube set A is given by the top-level"}},
    {TASK, "cube_e.json", TASK_OK(", \"cubes\": {" CUBE_B(", \"zrange\": [110, 470]") "}, \"test_cubes\": [\"E\"]"),
     {"cube_e.json: test_cubes[0]: expected a defined cube set (\"A\", \"B\")", "found \"E\""}},
    {TASK, "cube_z.json", TASK_OK(", \"cubes\": {" CUBE_B("") "}"), {"cube_z.json: cubes.B.zrange: required cube set key is missing"}},
    {TASK, "cube_both.json", TASK_OK(", \"cubes\": {" CUBE_B(", \"zrange\": [110, 470]") "}, \"train_cubes\": [\"A\", \"B\"], \"test_cubes\": [\"B\"]"),
     {"cube_both.json: test_cubes: expected cube sets not used for training", "found \"B\""}},
    {TASK, "nobase.json", "{\"base\": \"does-not-exist.json\", \"name\": \"x\"}", {"nobase.json: base: in base config", "does-not-exist.json: cannot open"}},
    {TASK, "cycle.json", "{\"base\": \"cycle.json\", \"name\": \"x\"}", {"cycle.json: base", "at most 8 levels of base configs"}},
    {TASK, "task1flag.json", TASK_OK(", \"noZI\": 1"), {"task1flag.json: noZI: expected 0 for Task 1", "found 1"}},
    /* network configs */
    {NETWORK, "lr0.json", "{\"model\": \"ResNet-18\", \"learning_rate\": 0}", {"lr0.json: learning_rate: expected a finite number > 0 and <= 10, found 0"}},
    {NETWORK, "lrinf.json", "{\"model\": \"ResNet-18\", \"learning_rate\": 1e999}", {"lrinf.json: learning_rate: expected a finite number > 0"}},
    {NETWORK, "adamw.json", "{\"model\": \"ResNet-18\", \"optimizer\": \"Adamw\"}", {"adamw.json: optimizer: expected one of \"SGD\", \"Adam\"", "(did you mean \"Adam\"?)", "found \"Adamw\""}},
    {NETWORK, "resnet50.json", "{\"model\": \"ResNet-50\"}", {"resnet50.json: model: expected one of \"ResNet-18\", \"UNet\", \"PCA\", \"NMF\"", "found \"ResNet-50\""}},
    {NETWORK, "batch.json", "{\"model\": \"ResNet-18\", \"batch_size\": 8.5}", {"batch.json: batch_size: expected an integer from 1 to 1048576, found 8.5"}},
    {NETWORK, "wrap.json", "{\"model\": \"ResNet-18\", \"batch_size\": 4294967304}", {"wrap.json: batch_size: expected an integer from 1 to 1048576", "found 4294967304"}},
    {NETWORK, "lerning.json", "{\"model\": \"ResNet-18\", \"lerning_rate\": 0.1}", {"lerning.json: lerning_rate: unknown network config key (did you mean \"learning_rate\"?)"}},
    {NETWORK, "nomethod.json", "{\"model\": \"ResNet-18\", \"task_type\": \"SSL\"}", {"nomethod.json: method: expected \"byol\", \"myow\" or \"myowmerged\""}},
    {NETWORK, "micro.json", "{\"model\": \"ResNet-18\", \"batch_size\": 8, \"micro_batch\": 3}", {"micro.json: micro_batch: expected a divisor of batch_size = 8, found 3"}},
    {NETWORK, "classes.json", "{\"model\": \"ResNet-18\", \"classes\": 1}", {"classes.json: classes: expected an integer from 2 to 64, found 1"}},
    {NETWORK, "rgb.json", "{\"model\": \"ResNet-18\", \"in_channels\": 3}", {"rgb.json: in_channels", "the X-ray images have one channel", "found 3"}},
    {NETWORK, "elu.json", "{\"model\": \"UNet\", \"classes\": 3, \"activation\": \"elu\"}", {"elu.json: activation: expected one of \"relu\"", "found \"elu\""}},
    {NETWORK, "poly.json", "{\"model\": \"ResNet-18\", \"task_type\": \"SSL\", \"method\": \"byol\", \"lr_decay\": \"poly\"}", {"poly.json: lr_decay: expected one of \"cosine\", \"none\"", "found \"poly\""}},
    {NETWORK, "flip.json", "{\"model\": \"ResNet-18\", \"task_type\": \"SSL\", \"method\": \"byol\", \"transform\": [\"random_flip\"]}", {"flip.json: transform[0]: expected one of \"random_crop\"", "found \"random_flip\""}},
    {NETWORK, "unet3.json", "{\"model\": \"UNet\"}", {"unet3.json: classes: expected the number of segmentation classes"}},
    {NETWORK, "resnet3d.json", "{\"model\": \"ResNet-18\", \"dim\": 3}", {"resnet3d.json: dim: expected 2 for ResNet-18", "found 3"}},
    {NETWORK, "nomodel.json", "{\"learning_rate\": 0.1}", {"nomodel.json: model: required network config key is missing"}},
    /* jobs */
    {JOB, "noruns.json", "{\"name\": \"j\", \"runs\": []}", {"noruns.json: runs: expected a list of 1 to 256 run objects, found []"}},
    {JOB, "method.json", JOB(RUN("supervisd", "task1_roi_c1.json", "pca.json") "}"), {"method.json: runs[0].method", "(did you mean \"supervised\"?)", "found \"supervisd\""}},
    {JOB, "mismatch.json", JOB(RUN("supervised", "task1_roi_c1.json", "pca.json") "}"), {"mismatch.json: runs[0].network: expected a supervised ResNet-18 for method \"supervised\", found model \"PCA\""}},
    {JOB, "wrongtask.json", JOB(RUN("segment", "task1_roi_c1.json", "unet2d_4class.json") "}"), {"wrongtask.json: runs[0].task: expected a Task 2 config for method \"segment\", found Task 1"}},
    {JOB, "dupname.json", JOB(RUN("pca", "task1_roi_c1.json", "pca.json") "}, " RUN("nmf", "task1_roi_c1.json", "nmf.json") "}"),
     {"dupname.json: runs[1].name: expected a name no other run has, found \"a\""}},
    {JOB, "seeds.json", "{\"name\": \"j\", \"seeds\": [1, 1], \"runs\": [" RUN("pca", "task1_roi_c1.json", "pca.json") "}]}", {"seeds.json: seeds[1]: expected each value once, found 1"}},
    {JOB, "negseed.json", "{\"name\": \"j\", \"seeds\": [-5], \"runs\": [" RUN("pca", "task1_roi_c1.json", "pca.json") "}]}", {"negseed.json: seeds[0]: expected an integer from 0 to 2147483647, found -5"}},
    {JOB, "override.json", JOB(RUN("pca", "task1_roi_c1.json", "pca.json") ", \"network_overrides\": {\"lerning_rate\": 0.1}}"),
     {"override.json: runs[0].network_overrides.lerning_rate: unknown network config key (did you mean \"learning_rate\"?)"}},
    {JOB, "ignoredov.json", JOB(RUN("pca", "task1_roi_c1.json", "pca.json") ", \"network_overrides\": {\"outputdir\": \"x\"}}"),
     {"ignoredov.json: runs[0].network_overrides.outputdir", "is an MTNeuro key it ignores"}},
    {JOB, "badov.json", JOB(RUN("pca", "task1_roi_c1.json", "pca.json") ", \"task_overrides\": {\"downsample\": 3}}"),
     {"task1_roi_c1.json with runs[0].task_overrides of", "badov.json: downsample: expected 1, 2 or 4, found 3"}},
    {JOB, "nofile.json", JOB("{\"name\": \"a\", \"method\": \"pca\", \"task\": \"nope.json\", \"network\": \"" CFG "/network/pca.json\"}"),
     {"nofile.json: runs[0] (\"a\"):", "nope.json: cannot open"}},
    {JOB, "noenc.json", JOB("{\"name\": \"r\", \"method\": \"readout\", \"task\": \"" CFG "/task/task3.json\"}"), {"noenc.json: runs[0].encoder: expected {\"job\": JOB.json, \"run\": NAME}"}},
    {JOB, "encrun.json", JOB(RUN("pca", "task1_roi_c1.json", "pca.json") "}, {\"name\": \"r\", \"method\": \"readout\", \"task\": \"" CFG "/task/task3.json\", \"encoder\": {\"run\": \"A\"}}"),
     {"encrun.json: runs[1].encoder.run: expected the name of a run", "found \"A\" (did you mean \"a\"?)"}},
    {JOB, "source.json", "{\"name\": \"j\", \"source\": \"ftp://x\", \"runs\": [" RUN("pca", "task1_roi_c1.json", "pca.json") "}]}", {"source.json: source: expected \"phantom\" or an http(s):// URL, found \"ftp://x\""}},
    {JOB, "vol.json", JOB(RUN("segment", "task2_2d_3class.json", "unet3d_3class.json") "}"), {"vol.json: runs[0].task: expected volume_z > 1 and divisible by 8", "found 1"}},
    {JOB, "classes.json", JOB(RUN("segment", "task2_2d_3class.json", "unet2d_4class.json") "}"), {"runs[0].network: expected classes = 3 to match the task", "found 4"}},
    {JOB, "nomix.json", JOB(RUN("mixup", "task1_roi_c1.json", "resnet18_supervised.json") "}"), {"nomix.json: runs[0].network_overrides: expected mixup_prob > 0", "found 0"}},
    {JOB, "runkey.json", JOB(RUN("pca", "task1_roi_c1.json", "pca.json") ", \"sedes\": [1]}"), {"runkey.json: runs[0].sedes: unknown run key (did you mean \"seeds\"?)"}},
};

static void test_broken_configs(void) {
    int n = (int)(sizeof cases / sizeof cases[0]);
    CU_ASSERT(n >= 25);
    mtn_log_init(0, 1, MTN_LOG_ERROR, NULL);
    for (int i = 0; i < n; i++) {
        const broken_case *c = &cases[i];
        const char *path = mtn_test_write_file(c->file, c->text);
        int rc;
        if (c->kind == TASK) {
            mtn_task_config t;
            rc = mtn_task_load(path, &t);
        } else if (c->kind == NETWORK) {
            mtn_network_config nc;
            rc = mtn_network_load(path, &nc);
        } else {
            mtn_job_config j;
            rc = mtn_job_load(path, &j);
            CU_ASSERT_PTR_NULL(j.runs); /* nothing half-built is left behind */
        }
        const char *msg = mtn_error_message();
        bool ok = rc == MTN_ECONFIG && strstr(msg, c->file) != NULL;
        for (int k = 0; k < 3 && c->expect[k]; k++) ok = ok && strstr(msg, c->expect[k]) != NULL;
        if (!ok) fprintf(stderr, "\ncase %s: rc %d, message:\n  %s\n", c->file, rc, msg);
        CU_ASSERT(ok);
    }
    mtn_log_init(0, 1, MTN_LOG_INFO, NULL);
}

static const mtn_test_case tests[] = {{"broken configs fail with a precise message", test_broken_configs},
                                      {NULL, NULL}};

const mtn_test_suite mtn_test_suites[] = {{"broken configs", tests}, {NULL, NULL}};
