/* cli.h — the command table and the pieces commands share: launch environment
 * (rank and size), printing a failure once, and exiting with design §6's codes. */
#ifndef MTN_CLI_H
#define MTN_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <string.h>

#include "mtn/train.h"

typedef int (*mtn_command_fn)(int argc, char **argv);

typedef struct {
    const char *name;
    const char *summary;   /* one line for `mtneuro --help` */
    const char *usage;     /* full text for `mtneuro COMMAND --help` */
    mtn_command_fn run;    /* NULL: not built yet */
    const char *planned;   /* for commands not built yet: where they are planned */
} mtn_command;

extern const mtn_command mtn_commands[];
extern const int mtn_n_commands;
const mtn_command *mtn_command_find(const char *name);

/* Rank and size from the launcher's environment (Open MPI, PMIx, Slurm, PMI), so
 * commands that need no MPI still print once under mpirun/srun. */
void mtn_launch_env(int *rank, int *size);

/* Prints the last error (mtn_error_message) once — on rank 0 when the failure is the
 * same everywhere (`everywhere`), else on the failing rank — and returns the exit
 * code for `status`. */
int mtn_cli_fail(int status, bool everywhere);

/* For commands that need MPI: starts it (threads funneled to the main thread) and
 * takes rank and size for logging from MPI_COMM_WORLD; stop finalizes. */
int mtn_cli_mpi_start(int *argc, char ***argv);
void mtn_cli_mpi_stop(void);

/* An integer option value in [lo, hi]; MTN_EUSAGE naming the command and option. */
int mtn_cli_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out);

/* The options `run` and `train` share (run_options.c): getopt_long's table, one
 * option into o (MTN_EUSAGE naming it), and the MPI launch that runs the job
 * (frees it) and returns the exit code. */
extern const struct option mtn_cli_run_long_options[];
int mtn_cli_run_option(const char *cmd, int c, const char *arg, mtn_run_opts *o);
int mtn_cli_run_launch(mtn_job_config *job, const mtn_run_opts *o, int *argc, char ***argv);

/* Commands. */
int mtn_cmd_check(int argc, char **argv);
int mtn_cmd_serve(int argc, char **argv);
int mtn_cmd_version(int argc, char **argv);
int mtn_cmd_stage(int argc, char **argv);
int mtn_cmd_bench(int argc, char **argv);
int mtn_cmd_infer(int argc, char **argv);
int mtn_cmd_features(int argc, char **argv);
int mtn_cmd_run(int argc, char **argv);
int mtn_cmd_train(int argc, char **argv);
int mtn_cmd_report(int argc, char **argv);
int mtn_cmd_aggregate(int argc, char **argv);
void mtn_print_version(void);

#endif
