/* commands.c — the command table: names, one-line summaries and full usage texts
 * (design §6). Commands whose work belongs to a later issue have no function yet
 * and say so plainly when run. */
#include <string.h>

#include "cli.h"

const mtn_command mtn_commands[] = {
    {"run", "stage, train, evaluate and report every run of a job",
     "usage: mtneuro run JOB.json [--source S] [--seeds LIST] [--resume] [-o DIR]\n"
     "                   [--ranks-per-seed N] [--threads T] [--checkpoint-every N]\n"
     "                   [--archive FILE] [--runs NAMES] [--quiet]\n"
     "\n"
     "Runs a job (jobs/*.json): stages the data each task needs (all ranks share the\n"
     "tiles), splits the MPI world into seed groups (the layout is printed), trains\n"
     "every run for every seed data-parallel inside its group, evaluates, gathers\n"
     "every seed's result to rank 0, writes the result archive and prints the\n"
     "paper-style table. Same job and seed: the same bits with 1, 2 or 4 ranks per\n"
     "group and 1 or 2 threads.\n"
     "\n"
     "  --source S            https://api.bossdb.io (default for paper jobs), http://host:port\n"
     "                        (any BossDB-compatible server, e.g. `mtneuro serve`), or phantom\n"
     "  --seeds LIST          comma-separated seeds instead of the job's\n"
     "  --resume              continue from the checkpoints in DIR, bit-identically;\n"
     "                        finished seeds are not trained again\n"
     "  -o DIR                output directory (default results/<job>): staged/,\n"
     "                        checkpoints/, weights/ and the archive <job>.h5\n"
     "  --ranks-per-seed N    ranks in each seed group (default: the largest power of\n"
     "                        two <= ranks / seeds)\n"
     "  --threads T           executor threads per rank (default 2 for one rank, else 1)\n"
     "  --checkpoint-every N  also checkpoint every N steps (default: each epoch's end)\n"
     "  --archive FILE        the result archive (default DIR/<job>.h5)\n"
     "  --runs NAMES          only these runs of the job (comma-separated names); a\n"
     "                        search's grid points and chosen run go with their run\n"
     "  --quiet               no progress and no tables\n"
     "\n"
     "SIGTERM or SIGUSR1: checkpoint at the next step, then exit 75 (requeue).\n"
     "Exit status: 0 done, 2 usage or config error, 3 data error, 4 file error,\n"
     "75 stopped after a checkpoint, 1 anything else.\n",
     mtn_cmd_run, NULL},
    {"check", "validate task, network and job configs and print them resolved",
     "usage: mtneuro check [--kind task|network|job] [--quiet] FILE...\n"
     "\n"
     "Validates each file and prints its resolved config as JSON on stdout: every key\n"
     "with its final value after presets and job overrides (for several files, an\n"
     "object keyed by file). A summary line per file goes to stderr.\n"
     "\n"
     "  --kind K   treat every FILE as this kind (default: tell by its keys: \"runs\"\n"
     "             makes a job, \"image_chan\" a task config, \"model\" a network config)\n"
     "  --quiet    print only the summary lines\n"
     "\n"
     "Exit status: 0 when every file is valid, 2 when any is not (the message names\n"
     "the file, the key path, what was expected and what was found).\n",
     mtn_cmd_check, NULL},
    {"stage", "fetch a task's cutouts into one parallel-HDF5 file",
     "usage: mtneuro stage --task T.json -o FILE [--source S] [--downsample N] [--max-parallel N]\n"
     "                     [--retries N] [--block X,Y,Z]\n"
     "\n"
     "Fetches every tile the task needs (image and annotation channels) and writes\n"
     "them into one HDF5 file. Under mpirun the ranks fetch disjoint shares and write\n"
     "collectively; the content does not depend on the number of ranks. A killed run\n"
     "resumes: tiles already written are not fetched again. A complete file is left\n"
     "alone (no network I/O).\n"
     "\n"
     "  --task T.json     task config (configs/task/*.json or MTNeuro's own)\n"
     "  -o FILE           the staged file\n"
     "  --source S        https://api.bossdb.io (default), http://host:port (any\n"
     "                    BossDB-compatible server, e.g. `mtneuro serve`), or phantom\n"
     "  --downsample N    1, 2 or 4 instead of the task's (block mean for images, block\n"
     "                    mode for labels)\n"
     "  --max-parallel N  concurrent requests per rank (default 4)\n"
     "  --retries N       retries per request (default 5, exponential backoff)\n"
     "  --block X,Y,Z     split larger cutouts into blocks aligned to multiples of this\n"
     "                    size (default 512,512,96, as intern)\n"
     "\n"
     "Token: MTN_BOSSDB_TOKEN, else ~/.intern/intern.cfg, else \"public\".\n"
     "Exit status: 0 staged (or already complete), 2 usage or config error, 3 source\n"
     "or data error, 4 file error.\n",
     mtn_cmd_stage, NULL},
    {"train", "train one task x network config for some seeds",
     "usage: mtneuro train --task T.json --network N.json [--data FILE] [--seeds LIST] [-o DIR]\n"
     "                     [run's options]\n"
     "\n"
     "One run as a one-run job: the method follows from the network config\n"
     "(ResNet-18: supervised, or mixup when mixup_prob > 0; PCA; NMF), for the paper's\n"
     "seeds unless --seeds. Results go to DIR (default results/train-<task>-<network>).\n"
     "\n"
     "  --data FILE   a staged file (mtneuro stage) to train on instead of staging\n"
     "  and every option of `mtneuro run` (--source, --resume, --ranks-per-seed, ...)\n",
     mtn_cmd_train, NULL},
    {"report", "print the paper's tables from result archives",
     "usage: mtneuro report RESULTS.h5 [MORE.h5 ...] [--format md|csv|json]\n"
     "\n"
     "Reads result archives (results/<job>/<job>.h5, written by `mtneuro run`) and\n"
     "prints the paper's table layout from them, each number ours, mean ± sample std\n"
     "over the seeds that finished (n shown when not 5), beside the paper's value; a\n"
     "run that is absent or not built shows \"—\" and why. Several archives (e.g. one\n"
     "per column) fill one table.\n"
     "  Table 1, A3: the paper's rows (Supervised, Sup w/ Mixup, BYOL, MYOW, MYOW-m,\n"
     "    PCA, NMF) and columns, accuracy.\n"
     "  Table 2: per column (3-class, 4-class) a row per U-Net, F1 / IoU per class\n"
     "    pooled over the test pixels and their Avg over classes; then per-image\n"
     "    averaged F1 / IoU (ours only).\n"
     "  Table 3: per column (ROI-C1, ROI-C3) the paper's rows, in-sample R² of\n"
     "    Vessels, Axons, Count, Size, Dist (k=1); then held-out R² (ours only).\n"
     "  Other tables: a row per run.\n"
     "Markdown adds a block per run: the metric per seed, a search's chosen values,\n"
     "mean step time split into compute, communication and I/O.\n"
     "\n"
     "  --format F   md (default), csv (table,row,column,metric,ours_mean,ours_std,n,\n"
     "               paper_mean,paper_std; metric \"accuracy\", \"f1:Vessels\",\n"
     "               \"mean_f1\", \"r2:Axons\", ...) or json (an array of those cells,\n"
     "               with status, run, job and chosen)\n"
     "\n"
     "Exit status: 0 printed, 2 usage error, 3 not a result archive or a damaged one\n"
     "(the message names the file and the object at fault), 4 unreadable file.\n",
     mtn_cmd_report, NULL},
    {"serve", "serve the phantom or an HDF5 volume over the BossDB REST protocol",
     "usage: mtneuro serve [--phantom | --volume FILE.h5] [--port P] [--bind ADDR] [--token T]\n"
     "                     [--threads N] [--max-cutout-mb M] [--access-log FILE|-]\n"
     "                     [--fault-5xx-rate P] [--fault-5xx-first N] [--fault-truncate-first N]\n"
     "                     [--fault-wrongsize-first N] [--fault-delay-ms D] [--fault-seed S]\n"
     "\n"
     "Serves the phantom (default) or an HDF5 volume over BossDB's REST protocol, so any\n"
     "BossDB client (mtneuro --source http://ADDR:PORT, intern, neuroglancer) can read it:\n"
     "/ping/, /v1/collection/..., /v1/coord/..., /v1/downsample/..., and\n"
     "/v1/cutout/C/E/CH/RES/X0:X1/Y0:Y1/Z0:Z1/ with application/blosc or application/npygz\n"
     "bodies and BossDB's JSON errors. Prints `serving WHAT on http://ADDR:PORT` once it\n"
     "listens; runs until SIGINT or SIGTERM, then stops cleanly (exit 0).\n"
     "\n"
     "  --phantom           serve the built-in phantom (prasad/prasad2020/image, ...)\n"
     "  --volume FILE.h5    serve an HDF5 volume: datasets /collection/experiment/channel,\n"
     "                      uint8/uint16/uint64 (z, y, x); attribute type=\"annotation\" on\n"
     "                      label channels; optional root attributes coord_frame,\n"
     "                      voxel_size (x, y, z), voxel_unit\n"
     "  --port P            TCP port (default 8080; 0: any free port, printed)\n"
     "  --bind ADDR         address to listen on (default 127.0.0.1)\n"
     "  --token T           require `Authorization: Token T` (401 for another token, 403\n"
     "                      without one or with `Token public`); default: open to all\n"
     "  --threads N         worker threads, and cutouts in memory at once (default 4)\n"
     "  --max-cutout-mb M   largest cutout, uncompressed MiB as BossDB counts it (uint64 at\n"
     "                      2 bytes per voxel): larger requests get 413 (default 520)\n"
     "  --access-log FILE   one line per request: client, method, URL, status, body\n"
     "                      bytes, milliseconds; `-` for stdout (default stderr)\n"
     "\n"
     "Fault injection, for testing clients (attempts are counted per cutout URL):\n"
     "  --fault-5xx-first N        the first N attempts at each cutout answer 503\n"
     "  --fault-truncate-first N   the next N send half the body, then close\n"
     "  --fault-wrongsize-first N  the next N send a valid body of half the voxels\n"
     "  --fault-5xx-rate P         later attempts answer 503 with probability P\n"
     "  --fault-seed S             seed of those draws (default 0)\n"
     "  --fault-delay-ms D         wait D ms before every cutout response\n",
     mtn_cmd_serve, NULL},
    {"infer", "run a checkpoint in eval mode: logits or embeddings",
     "usage: mtneuro infer --checkpoint CK.h5 --input X.h5 -o Y.h5 [--embedding] [--batch B]\n"
     "                     [--threads T]\n"
     "\n"
     "Runs the checkpoint's model (ours, or PyTorch's via tests/ref/state_dict_h5.py) in\n"
     "eval mode: BatchNorm's running statistics, no dropout.\n"
     "  X.h5:/x  float32 (N,C,H,W) for resnet18 and unet2d, (N,C,D,H,W) for unet3d,\n"
     "           (N,features) for mlp; C the checkpoint's in_channels\n"
     "  Y.h5:/y  float32 logits (N,classes) or (N,classes,[D,]H,W); with --embedding\n"
     "           (resnet18 only) the 512-d encoder output (N,512). Written atomically,\n"
     "           with attributes model, output, checkpoint, input.\n"
     "\n"
     "  --embedding  the encoder's output instead of the logits (Task 3 read-outs)\n"
     "  --batch B    samples per forward pass (default 8; the result does not depend on it)\n"
     "  --threads T  worker threads (default: the CPUs this process may use; the result\n"
     "               does not depend on it)\n"
     "\n"
     "Exit status: 0 written, 2 usage error, 3 bad checkpoint or input (the message names\n"
     "the file and what was expected), 4 unreadable or unwritable file.\n",
     mtn_cmd_infer, NULL},
    {"features", "Task 3 semantic features from pixel labels",
     "usage: mtneuro features --input L.h5 -o F.h5 [--quadrants]\n"
     "\n"
     "Computes Task 3's five semantic features of each image (or quadrant) of a\n"
     "pixel-label volume:\n"
     "  L.h5:/labels    integers (Z, H, W), MTNeuro's values: 0 background, 1 vessel,\n"
     "                  2 cell, 3 axon (any other value is an error naming its position)\n"
     "  F.h5:/features  float64 (Z, 5), or (4 Z, 5) with --quadrants, columns\n"
     "                  vessel_pct, axon_pct, cell_count, cell_size_px, nn_dist_px;\n"
     "                  written atomically, with attributes columns, rows, units,\n"
     "                  definitions, missing, labels\n"
     "\n"
     "  vessel_pct, axon_pct  percent of the pixels with label 1 / 3 (0 when none)\n"
     "  cell_count            cells present: 3D 6-connected components of label 2 over\n"
     "                        the whole stack, each counted once per image it appears in\n"
     "  cell_size_px          mean footprint of those cells in the image, in pixels\n"
     "                        (NaN without cells)\n"
     "  nn_dist_px            mean distance from a cell's footprint centroid to the\n"
     "                        nearest other cell's, in pixels (NaN with fewer than 2)\n"
     "Pixels are the input's (1.17 um at MTNeuro's full resolution). Unlike MTNeuro's\n"
     "code, nn_dist_px leaves out the self-distance 0 (which halved it) and a quadrant\n"
     "without vessels gives 0 (where it crashed).\n"
     "\n"
     "  --quadrants   one row per quadrant: row 4*slice + corner, corners [:h,:w],\n"
     "                [:h,w:], [h:,:w], [h:,w:] with h = H//2, w = W//2 (as MTNeuro)\n"
     "\n"
     "Exit status: 0 written, 2 usage error, 3 bad labels (the message names the file\n"
     "and what was expected), 4 unreadable input or unwritable output.\n",
     mtn_cmd_features, NULL},
    {"bench", "measure training-step throughput and peak memory",
     "usage: mtneuro bench --model resnet18|unet2d|unet3d [--size S] [--depth D] [--batch B]\n"
     "                     [--micro M] [--threads T] [--steps N] [--warmup W]\n"
     "\n"
     "Times training steps (forward, cross-entropy, backward, SGD with momentum) on\n"
     "synthetic data and prints one line:\n"
     "  model=M size=S depth=D batch=B threads=T samples_per_s=X gflops=Y peak_mb=Z step_s=W\n"
     "gflops counts 3 x the forward multiply-adds x 2 of convolutions and linear layers.\n"
     "tests/ref/bench_compare.sh runs the same shapes in PyTorch side by side.\n"
     "\n"
     "  --size S      input height and width (resnet18: 64, unet2d: 256, unet3d: 128)\n"
     "  --depth D     unet3d input depth (8)\n"
     "  --batch B     samples per step (8)\n"
     "  --micro M     micro-batch of the deterministic reductions (default: the batch)\n"
     "  --threads T   worker threads (2); results do not depend on it\n"
     "  --steps N     timed steps (5) after --warmup W untimed ones (2)\n",
     mtn_cmd_bench, NULL},
    {"aggregate", "merge per-seed result archives",
     "usage: mtneuro aggregate A.h5 B.h5 ... -o merged.h5 [--force]\n",
     NULL, "issue #7 (Slurm)"},
    {"version", "print the versions of mtneuro and its libraries",
     "usage: mtneuro version   (same as mtneuro --version)\n"
     "\n"
     "Prints mtneuro's version and git commit, and the versions of MPI, HDF5, libcurl,\n"
     "OpenBLAS, LAPACKE, blosc, cJSON and libmicrohttpd it runs with.\n",
     mtn_cmd_version, NULL},
};
const int mtn_n_commands = (int)(sizeof mtn_commands / sizeof mtn_commands[0]);

const mtn_command *mtn_command_find(const char *name) {
    for (int i = 0; i < mtn_n_commands; i++)
        if (strcmp(mtn_commands[i].name, name) == 0) return &mtn_commands[i];
    return NULL;
}
