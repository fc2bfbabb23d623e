/* main.c — the mtneuro entry point: global options, the command dispatch, help and
 * version. Commands that need MPI start it themselves; the rest read the launch
 * environment so that under mpirun or srun they still print once. */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtn/core.h"

static void print_help(FILE *out) {
    fprintf(out,
            "mtneuro %s — the MTNeuro benchmark (X-ray microtomography: brain regions,\n"
            "microstructure segmentation, semantic features) as one C program, from a\n"
            "laptop to a Slurm cluster.\n"
            "\n"
            "usage: mtneuro [--log-level LEVEL] COMMAND [ARGS]\n"
            "       mpirun -n N mtneuro COMMAND ...    srun mtneuro COMMAND ...\n"
            "\n"
            "commands:\n",
            mtn_version());
    for (int i = 0; i < mtn_n_commands; i++) {
        const mtn_command *c = &mtn_commands[i];
        fprintf(out, "  %-10s %s%s\n", c->name, c->summary, c->run ? "" : " (not built yet)");
    }
    fprintf(out,
            "\n"
            "options:\n"
            "  -h, --help            this help; `mtneuro COMMAND --help` for a command\n"
            "  -V, --version         versions of mtneuro and its libraries\n"
            "  --log-level LEVEL     debug, info (default), warn, error or quiet; also MTN_LOG\n"
            "\n"
            "exit status: 0 success, 2 usage or config error, 3 data or source error,\n"
            "4 I/O error, 75 stopped for requeue after a checkpoint, 1 anything else.\n");
}

static bool wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) return false;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return true;
    }
    return false;
}

int main(int argc, char **argv) {
    int rank, size;
    mtn_launch_env(&rank, &size);
    mtn_log_level level = MTN_LOG_INFO;
    const char *env_level = getenv("MTN_LOG");
    if (env_level && mtn_log_level_parse(env_level) >= 0) level = (mtn_log_level)mtn_log_level_parse(env_level);
    mtn_log_init(rank, size, level, stderr);

    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            if (rank == 0) print_help(stdout);
            return 0;
        }
        if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            if (rank == 0) mtn_print_version();
            return 0;
        }
        if (strcmp(a, "--log-level") == 0 && i + 1 < argc) {
            int l = mtn_log_level_parse(argv[++i]);
            if (l < 0) {
                mtn_error_set(MTN_EUSAGE, "--log-level: expected debug, info, warn, error or quiet, found \"%s\"", argv[i]);
                return mtn_cli_fail(MTN_EUSAGE, true);
            }
            mtn_log_init(rank, size, (mtn_log_level)l, stderr);
            continue;
        }
        mtn_error_set(MTN_EUSAGE, "unknown option \"%s\" (see mtneuro --help)", a);
        return mtn_cli_fail(MTN_EUSAGE, true);
    }
    if (i >= argc) {
        if (rank == 0) print_help(stderr);
        return MTN_EXIT_USAGE;
    }
    const mtn_command *cmd = mtn_command_find(argv[i]);
    if (!cmd) {
        const char *names[32];
        for (int k = 0; k < mtn_n_commands; k++) names[k] = mtn_commands[k].name;
        const char *s = mtn_suggest(argv[i], names, (size_t)mtn_n_commands);
        mtn_error_set(MTN_EUSAGE, "unknown command \"%s\"%s%s%s (see mtneuro --help)", argv[i],
                      s ? " (did you mean \"" : "", s ? s : "", s ? "\"?)" : "");
        return mtn_cli_fail(MTN_EUSAGE, true);
    }
    int cargc = argc - i;
    char **cargv = argv + i;
    if (wants_help(cargc, cargv)) {
        if (rank == 0) {
            fputs(cmd->usage, stdout);
            if (!cmd->run) printf("\nStatus: not built yet; planned in %s.\n", cmd->planned);
        }
        return 0;
    }
    if (!cmd->run) {
        mtn_error_set(MTN_ENOTBUILT, "%s: not built yet; planned in %s", cmd->name, cmd->planned);
        return mtn_cli_fail(MTN_ENOTBUILT, true);
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); /* once, before any thread starts */
    int code = cmd->run(cargc, cargv);
    curl_global_cleanup();
    return code;
}
