/* signals.c — SIGTERM and SIGUSR1 (Slurm's preemption warning) set a flag and
 * nothing else; the runner checkpoints at the next step boundary and exits 75. */
#include <signal.h>
#include <string.h>

#include "mtn/train.h"

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig) {
    (void)sig;
    stop_flag = 1;
}

void mtn_stop_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int mtn_stop_requested(void) { return stop_flag != 0; }
