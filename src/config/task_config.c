/* task_config.c — the task config: which BossDB channels, which cubes and regions,
 * which z slices form train/val/test, tile and sub-volume sizes, label settings and
 * downsampling. MTNeuro's flat keys describe cube set A; our "cubes" object adds
 * cube sets B–D for ROI-C2/C3, and "train_cubes"/"test_cubes" say how they are used. */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "config_internal.h"
#include "json_doc.h"
#include "mtn/core.h"

const char *const mtn_region_names[MTN_NREGIONS] = {"CTX", "STR", "VP", "ZI"};

#define TOFF(f) offsetof(mtn_task_config, f)
#define COFF(f) offsetof(mtn_cube, f)
#define RANGE_KEY(nm, off, bound, fl) \
    {.name = nm, .type = MTN_K_RANGE, .offset = (off), .min = 0, .max = (bound), .flags = (fl)}
/* The eight x/y ranges of one cube set, at `base` bytes into the struct. */
#define CUBE_XY_KEYS(base)                                                                         \
    RANGE_KEY("xrange_cor", (base) + COFF(x[MTN_REGION_CTX]), MTN_FRAME_X, MTN_KEY_REQUIRED),      \
    RANGE_KEY("yrange_cor", (base) + COFF(y[MTN_REGION_CTX]), MTN_FRAME_Y, MTN_KEY_REQUIRED),      \
    RANGE_KEY("xrange_stri", (base) + COFF(x[MTN_REGION_STR]), MTN_FRAME_X, MTN_KEY_REQUIRED),     \
    RANGE_KEY("yrange_stri", (base) + COFF(y[MTN_REGION_STR]), MTN_FRAME_Y, MTN_KEY_REQUIRED),     \
    RANGE_KEY("xrange_vp", (base) + COFF(x[MTN_REGION_VP]), MTN_FRAME_X, MTN_KEY_REQUIRED),        \
    RANGE_KEY("yrange_vp", (base) + COFF(y[MTN_REGION_VP]), MTN_FRAME_Y, MTN_KEY_REQUIRED),        \
    RANGE_KEY("xrange_zi", (base) + COFF(x[MTN_REGION_ZI]), MTN_FRAME_X, MTN_KEY_REQUIRED),        \
    RANGE_KEY("yrange_zi", (base) + COFF(y[MTN_REGION_ZI]), MTN_FRAME_Y, MTN_KEY_REQUIRED)

static const mtn_key cube_keys[] = {
    CUBE_XY_KEYS(0),
    RANGE_KEY("zrange", COFF(z), MTN_FRAME_Z, MTN_KEY_REQUIRED),
};
static const mtn_schema cube_schema = {cube_keys, (int)(sizeof cube_keys / sizeof cube_keys[0]), "cube set"};

static const char *const task_type_choices[] = {"normal", "3class", "noZI", NULL};

static int read_cubes(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path);
static cJSON *write_cubes(const mtn_key *k, const void *obj);
static int read_cube_list(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path);
static cJSON *write_cube_list(const mtn_key *k, const void *obj);

static const mtn_key task_keys[] = {
    {.name = "base", .type = MTN_K_CUSTOM, .read = mtn_schema_read_base,
     .note = "path of a config this one extends (relative to this file)"},
    {.name = "name", .type = MTN_K_STRING, .offset = TOFF(name), .size = MTN_NAME_MAX,
     .flags = MTN_KEY_REQUIRED | MTN_KEY_NONEMPTY},
    {.name = "description", .type = MTN_K_STRING, .offset = TOFF(description), .size = 256},
    {.name = "task", .type = MTN_K_INT, .offset = TOFF(task), .min = 1, .max = 3,
     .note = "MTNeuro task 1, 2 or 3"},
    {.name = "image_chan", .type = MTN_K_STRING, .offset = TOFF(image_chan), .size = MTN_URI_MAX,
     .flags = MTN_KEY_REQUIRED},
    {.name = "annotation_chan", .type = MTN_K_STRING, .offset = TOFF(annotation_chan), .size = MTN_URI_MAX,
     .flags = MTN_KEY_REQUIRED},
    CUBE_XY_KEYS(TOFF(cubes)),
    RANGE_KEY("zrange", TOFF(cubes) + COFF(z), MTN_FRAME_Z, 0),
    RANGE_KEY("z_train", TOFF(z_train), MTN_FRAME_Z, MTN_KEY_REQUIRED),
    RANGE_KEY("z_val", TOFF(z_val), MTN_FRAME_Z, MTN_KEY_REQUIRED),
    RANGE_KEY("z_test", TOFF(z_test), MTN_FRAME_Z, MTN_KEY_REQUIRED),
    {.name = "volume_z", .type = MTN_K_INT, .offset = TOFF(volume_z), .min = 1, .max = MTN_FRAME_Z,
     .note = "slices per sample"},
    {.name = "tile_size", .type = MTN_K_INT_PAIR, .offset = TOFF(tile_size), .min = 1, .max = MTN_FRAME_X},
    {.name = "task_type", .type = MTN_K_ENUM, .offset = TOFF(task_type), .choices = task_type_choices},
    {.name = "combine_ax_and_bg", .type = MTN_K_BOOL, .offset = TOFF(combine_ax_and_bg)},
    {.name = "noZI", .type = MTN_K_BOOL, .offset = TOFF(no_zi)},
    {.name = "downsample", .type = MTN_K_INT, .offset = TOFF(downsample), .min = 1, .max = 4,
     .note = "1, 2 or 4"},
    {.name = "cubes", .type = MTN_K_CUSTOM, .read = read_cubes, .write = write_cubes},
    {.name = "train_cubes", .type = MTN_K_CUSTOM, .offset = TOFF(train_cubes), .read = read_cube_list,
     .write = write_cube_list},
    {.name = "test_cubes", .type = MTN_K_CUSTOM, .offset = TOFF(test_cubes), .read = read_cube_list,
     .write = write_cube_list},
    {.name = "encoder_type", .type = MTN_K_IGNORED,
     .note = "Task 3 encoders are named by the job's readout runs (\"encoder\")"},
    {.name = "encoder_path", .type = MTN_K_IGNORED,
     .note = "Task 3 encoders are named by the job's readout runs (\"encoder\")"},
};
const mtn_schema mtn_task_schema = {task_keys, (int)(sizeof task_keys / sizeof task_keys[0]), "task config"};

static int key_index(const char *name) {
    int i = mtn_schema_find(&mtn_task_schema, name);
    MTN_ASSERT(i >= 0);
    return i;
}

void mtn_task_defaults(mtn_task_config *t) {
    memset(t, 0, sizeof *t);
    snprintf(t->cubes[0].name, sizeof t->cubes[0].name, "A");
    t->n_cubes = 1;
    t->volume_z = 1;
    t->tile_size[0] = t->tile_size[1] = 256;
    t->task_type = MTN_TASKTYPE_NORMAL;
    t->downsample = 1;
    t->train_cubes = t->test_cubes = 1u; /* cube A */
}

/* ---- cube sets ---- */

static int find_cube(const mtn_task_config *t, const char *name) {
    for (int i = 0; i < t->n_cubes; i++)
        if (strcmp(t->cubes[i].name, name) == 0) return i;
    return -1;
}

static bool valid_cube_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(((mtn_cube *)0)->name)) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i])) return false;
    return true;
}

static int read_cubes(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path) {
    mtn_task_config *t = obj;
    if (!cJSON_IsObject(v))
        return mtn_schema_error(ctx, path, k->name, "an object of named cube sets, e.g. {\"B\": {...}}", v);
    char cpath[512];
    mtn_path_join(cpath, sizeof cpath, path, k->name);
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!valid_cube_name(c->string))
            return mtn_schema_error(ctx, cpath, c->string, "a cube name of 1-7 letters or digits", NULL);
        if (strcmp(c->string, "A") == 0)
            return mtn_schema_error(ctx, cpath, c->string,
                                    "a cube other than A (cube set A is given by the top-level xrange_*/yrange_* keys)",
                                    NULL);
        int i = find_cube(t, c->string);
        if (i < 0) {
            if (t->n_cubes >= MTN_MAX_CUBES)
                return mtn_schema_error(ctx, cpath, c->string, "at most 7 cube sets besides A", NULL);
            i = t->n_cubes++;
            memset(&t->cubes[i], 0, sizeof t->cubes[i]);
            snprintf(t->cubes[i].name, sizeof t->cubes[i].name, "%s", c->string);
        }
        char path_c[600];
        mtn_path_join(path_c, sizeof path_c, cpath, c->string);
        int rc = mtn_schema_read(&cube_schema, c, &t->cubes[i], NULL, ctx, path_c);
        if (!rc) rc = mtn_schema_check_required(&cube_schema, c, ctx, path_c);
        if (rc) return rc;
    }
    return MTN_OK;
}

static cJSON *write_cubes(const mtn_key *k, const void *obj) {
    (void)k;
    const mtn_task_config *t = obj;
    cJSON *o = cJSON_CreateObject();
    for (int i = 1; i < t->n_cubes; i++)
        cJSON_AddItemToObject(o, t->cubes[i].name, mtn_schema_write(&cube_schema, &t->cubes[i]));
    return o;
}

static int read_cube_list(const mtn_key *k, const cJSON *v, void *obj, const mtn_schema_ctx *ctx, const char *path) {
    mtn_task_config *t = obj;
    uint32_t *mask = (uint32_t *)(void *)((char *)obj + k->offset);
    if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
        return mtn_schema_error(ctx, path, k->name, "a non-empty list of cube set names, e.g. [\"A\", \"B\"]", v);
    char lpath[512];
    mtn_path_join(lpath, sizeof lpath, path, k->name);
    uint32_t m = 0;
    int idx = 0;
    for (const cJSON *e = v->child; e; e = e->next, idx++) {
        char ipath[24];
        snprintf(ipath, sizeof ipath, "[%d]", idx);
        const char *names[MTN_MAX_CUBES];
        for (int i = 0; i < t->n_cubes; i++) names[i] = t->cubes[i].name;
        int i = cJSON_IsString(e) ? find_cube(t, e->valuestring) : -1;
        if (i < 0) {
            char expected[256];
            size_t len = (size_t)snprintf(expected, sizeof expected, "a defined cube set (");
            for (int j = 0; j < t->n_cubes; j++)
                len += (size_t)snprintf(expected + len, sizeof expected - len, "%s\"%s\"", j ? ", " : "", names[j]);
            len += (size_t)snprintf(expected + len, sizeof expected - len, ")");
            const char *s = cJSON_IsString(e) ? mtn_suggest(e->valuestring, names, (size_t)t->n_cubes) : NULL;
            if (s) snprintf(expected + len, sizeof expected - len, " (did you mean \"%s\"?)", s);
            return mtn_schema_error(ctx, lpath, ipath, expected, e);
        }
        if (m & (1u << i)) return mtn_schema_error(ctx, lpath, ipath, "each cube set once", e);
        m |= 1u << i;
    }
    *mask = m;
    return MTN_OK;
}

static cJSON *write_cube_list(const mtn_key *k, const void *obj) {
    const mtn_task_config *t = obj;
    uint32_t mask = *(const uint32_t *)(const void *)((const char *)obj + k->offset);
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < t->n_cubes; i++)
        if (mask & (1u << i)) cJSON_AddItemToArray(a, cJSON_CreateString(t->cubes[i].name));
    return a;
}

/* ---- reading and checking ---- */

int mtn_task_read(mtn_task_config *t, const cJSON *obj, const mtn_schema_ctx *ctx, const char *path) {
    /* cube sets first, so train_cubes/test_cubes can name them whatever the key order */
    const cJSON *cubes = cJSON_GetObjectItemCaseSensitive(obj, "cubes");
    if (cubes) {
        int rc = read_cubes(&task_keys[key_index("cubes")], cubes, t, ctx, path);
        if (rc) return rc;
    }
    return mtn_schema_read(&mtn_task_schema, obj, t, t->origin, ctx, path);
}


/* bossdb://collection/experiment/channel, each part [A-Za-z0-9_.-]+ */
static bool valid_bossdb_uri(const char *s) {
    const char *prefix = "bossdb://";
    if (strncmp(s, prefix, strlen(prefix)) != 0) return false;
    s += strlen(prefix);
    int parts = 0;
    size_t len = 0;
    for (;; s++) {
        if (*s == '/' || *s == '\0') {
            if (len == 0) return false;
            parts++;
            len = 0;
            if (*s == '\0') break;
            continue;
        }
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return false;
        len++;
    }
    return parts == 3;
}

static bool overlaps(mtn_range a, mtn_range b) { return a.start < b.stop && b.start < a.stop; }
static bool inside(mtn_range a, mtn_range outer) { return a.start >= outer.start && a.stop <= outer.stop; }

static int check_splits(const mtn_task_config *t, const mtn_schema_ctx *ctx) {
    const mtn_range *splits[3] = {&t->z_train, &t->z_val, &t->z_test};
    const char *names[3] = {"z_train", "z_val", "z_test"};
    const mtn_range z = t->cubes[0].z;
    for (int i = 0; i < 3; i++) {
        if (!inside(*splits[i], z))
            return mtn_schema_verror(ctx, names[i],
                        "expected a range inside zrange [%lld, %lld), found [%lld, %lld)", (long long)z.start,
                        (long long)z.stop, (long long)splits[i]->start, (long long)splits[i]->stop);
        if (mtn_range_len(*splits[i]) < t->volume_z)
            return mtn_schema_verror(ctx, names[i], "expected at least volume_z = %d slices, found %lld", t->volume_z,
                        (long long)mtn_range_len(*splits[i]));
    }
    /* Tasks 1 and 2 evaluate on held-out slices: the splits must not share any. Task 3
     * reads out every slice, so MTNeuro's later task3.json overlaps them on purpose. */
    if (t->task != 3) {
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (overlaps(*splits[i], *splits[j]))
                    return mtn_schema_verror(ctx, names[j],
                                "expected slices disjoint from %s [%lld, %lld) (a test slice seen in training "
                                "would inflate the score), found [%lld, %lld)",
                                names[i], (long long)splits[i]->start, (long long)splits[i]->stop,
                                (long long)splits[j]->start, (long long)splits[j]->stop);
    }
    return MTN_OK;
}

static int check_cubes(const mtn_task_config *t, const mtn_schema_ctx *ctx) {
    static const char *const xkeys[] = {"xrange_cor", "xrange_stri", "xrange_vp", "xrange_zi"};
    static const char *const ykeys[] = {"yrange_cor", "yrange_stri", "yrange_vp", "yrange_zi"};
    for (int c = 0; c < t->n_cubes; c++) {
        const mtn_cube *cube = &t->cubes[c];
        for (int r = 0; r < MTN_NREGIONS; r++) {
            int64_t h = mtn_range_len(cube->y[r]), w = mtn_range_len(cube->x[r]);
            char key[64];
            if (h % t->tile_size[0] != 0) {
                if (c == 0) snprintf(key, sizeof key, "%s", ykeys[r]);
                else snprintf(key, sizeof key, "cubes.%s.%s", cube->name, ykeys[r]);
                return mtn_schema_verror(ctx, key, "expected a height that tile_size[0] = %d divides, found %lld", t->tile_size[0],
                            (long long)h);
            }
            if (w % t->tile_size[1] != 0) {
                if (c == 0) snprintf(key, sizeof key, "%s", xkeys[r]);
                else snprintf(key, sizeof key, "cubes.%s.%s", cube->name, xkeys[r]);
                return mtn_schema_verror(ctx, key, "expected a width that tile_size[1] = %d divides, found %lld", t->tile_size[1],
                            (long long)w);
            }
        }
        if (c > 0 && mtn_range_len(cube->z) < t->volume_z)
            return mtn_schema_verror(ctx, "cubes", "cube set %s: expected at least volume_z = %d slices, found %lld", cube->name,
                        t->volume_z, (long long)mtn_range_len(cube->z));
    }
    uint32_t shared = t->train_cubes & t->test_cubes & ~1u;
    if (shared) {
        for (int c = 1; c < t->n_cubes; c++)
            if (shared & (1u << c))
                return mtn_schema_verror(ctx, "test_cubes",
                            "expected cube sets not used for training, found \"%s\" in train_cubes too "
                            "(only cube A is split by z)", t->cubes[c].name);
    }
    return MTN_OK;
}

int mtn_task_finish(mtn_task_config *t, const mtn_schema_ctx *ctx) {
    int rc = mtn_schema_check_required_origins(&mtn_task_schema, t->origin, ctx);
    if (rc) return rc;
    /* Cube A's z range: MTNeuro's zrange when given (its loader never reads it), else
     * the span of the three splits. */
    if (t->origin[key_index("zrange")] == MTN_ORIGIN_DEFAULT) {
        mtn_range z = t->z_train;
        if (t->z_val.start < z.start) z.start = t->z_val.start;
        if (t->z_test.start < z.start) z.start = t->z_test.start;
        if (t->z_val.stop > z.stop) z.stop = t->z_val.stop;
        if (t->z_test.stop > z.stop) z.stop = t->z_test.stop;
        t->cubes[0].z = z;
    }
    /* Which task: "task" when given; else Task 1 for ROI labels, and for pixel labels
     * Task 3 when the name says so (MTNeuro's task3.json), Task 2 otherwise. */
    if (t->origin[key_index("task")] == MTN_ORIGIN_DEFAULT) {
        size_t n = strlen(t->annotation_chan);
        const char *roi = "/roi_labels";
        if (n >= strlen(roi) && strcmp(t->annotation_chan + n - strlen(roi), roi) == 0) t->task = 1;
        else if (strncmp(t->name, "task3", 5) == 0) t->task = 3;
        else t->task = 2;
    }
    if (!valid_bossdb_uri(t->image_chan))
        return mtn_schema_verror(ctx, "image_chan", "expected a URI bossdb://collection/experiment/channel, found \"%s\"",
                    t->image_chan);
    if (!valid_bossdb_uri(t->annotation_chan))
        return mtn_schema_verror(ctx, "annotation_chan", "expected a URI bossdb://collection/experiment/channel, found \"%s\"",
                    t->annotation_chan);
    if (t->downsample != 1 && t->downsample != 2 && t->downsample != 4)
        return mtn_schema_verror(ctx, "downsample", "expected 1, 2 or 4, found %d", t->downsample);
    for (int i = 0; i < 2; i++)
        if (t->tile_size[i] % t->downsample != 0)
            return mtn_schema_verror(ctx, "tile_size", "expected sizes that downsample = %d divides, found [%d, %d]", t->downsample,
                        t->tile_size[0], t->tile_size[1]);
    if (t->task == 2 || t->task == 3) {
        /* task_type names the label setting; the two flags carry it out */
        bool want3 = t->task_type == MTN_TASKTYPE_3CLASS, wantnozi = t->task_type == MTN_TASKTYPE_NOZI;
        if (t->origin[key_index("task_type")] != MTN_ORIGIN_DEFAULT &&
            (t->combine_ax_and_bg != want3 || t->no_zi != wantnozi))
            return mtn_schema_verror(ctx, "task_type",
                        "expected combine_ax_and_bg = %d and noZI = %d for task_type \"%s\", found %d and %d",
                        want3, wantnozi, task_type_choices[t->task_type], t->combine_ax_and_bg, t->no_zi);
    } else if (t->combine_ax_and_bg || t->no_zi) {
        return mtn_schema_verror(ctx, t->combine_ax_and_bg ? "combine_ax_and_bg" : "noZI",
                    "expected 0 for Task 1 (it applies to Task 2 pixel labels), found 1");
    }
    if (t->task == 3 && t->no_zi)
        return mtn_schema_verror(ctx, "noZI", "expected 0 for Task 3 (features are read out on all four regions), found 1");
    rc = check_splits(t, ctx);
    if (!rc) rc = check_cubes(t, ctx);
    return rc;
}

int mtn_task_classes(const mtn_task_config *t) {
    if (t->task == 2) return t->combine_ax_and_bg ? 3 : 4;
    return 4;
}

uint32_t mtn_task_regions(const mtn_task_config *t) {
    uint32_t all = (1u << MTN_NREGIONS) - 1;
    return t->no_zi ? all & ~(1u << MTN_REGION_ZI) : all;
}

cJSON *mtn_task_to_json(const mtn_task_config *t) { return mtn_schema_write(&mtn_task_schema, t); }
