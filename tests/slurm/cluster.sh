#!/usr/bin/env bash
# cluster.sh — a real one-node Slurm cluster on localhost for the Slurm tests:
# munged, slurmctld and slurmd from Debian's slurm-wlm and munge, with a private
# slurm.conf, state and logs under one folder, so nothing in /etc/slurm is touched.
#
#   cluster.sh start DIR   writes DIR/slurm.conf, starts the daemons, waits until the
#                          node is idle; prints `export SLURM_CONF=DIR/slurm.conf`
#   cluster.sh stop DIR    stops slurmd and slurmctld (munged is left to the machine)
#
# The node has the machine's CPUs and memory; ports 26817/26818 (MTN_SLURM_PORT
# overrides the first). Needs root (slurmd runs jobs as their users) and the
# packages slurm-wlm and munge (.ci/packages).
set -u
cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: cluster.sh start|stop DIR" >&2; exit 2; }

stop() {
  for d in slurmd slurmctld; do
    [ -f "$dir/$d.pid" ] && kill "$(cat "$dir/$d.pid")" 2>/dev/null
  done
  sleep 1
  for d in slurmd slurmctld; do
    [ -f "$dir/$d.pid" ] && kill -9 "$(cat "$dir/$d.pid")" 2>/dev/null
    rm -f "$dir/$d.pid"
  done
  return 0
}

start_munge() {
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0 # one runs already
  [ -f /etc/munge/munge.key ] || { echo "cluster.sh: /etc/munge/munge.key is missing (install munge)" >&2; return 1; }
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged || { echo "cluster.sh: munged did not start" >&2; return 1; }
  for _ in $(seq 1 50); do
    munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "cluster.sh: munged does not answer" >&2
  return 1
}

write_conf() {
  local host cpus mem port=${MTN_SLURM_PORT:-26817}
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  mkdir -p "$dir/state" "$dir/spool"
  cat >"$dir/slurm.conf" <<EOF
# one-node test cluster written by tests/slurm/cluster.sh
ClusterName=mtneuro-test
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
JobRequeue=1
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
MinJobAge=600
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

case "$cmd" in
stop) stop ;;
start)
  [ "$(id -u)" -eq 0 ] || { echo "cluster.sh: needs root (slurmd runs the jobs)" >&2; exit 77; }
  command -v slurmctld >/dev/null || { echo "cluster.sh: slurmctld not found (apt-get install slurm-wlm munge)" >&2; exit 77; }
  mkdir -p "$dir"
  stop
  start_munge || exit 1
  write_conf
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -c -f "$SLURM_CONF" || { echo "cluster.sh: slurmctld failed: $(tail -5 "$dir/slurmctld.log")" >&2; exit 1; }
  /usr/sbin/slurmd -c -f "$SLURM_CONF" || { echo "cluster.sh: slurmd failed: $(tail -5 "$dir/slurmd.log")" >&2; exit 1; }
  for _ in $(seq 1 120); do
    state=$(sinfo -h -o %T 2>/dev/null | head -1)
    case "$state" in idle*) echo "export SLURM_CONF=$SLURM_CONF"; exit 0 ;; esac
    sleep 0.5
  done
  echo "cluster.sh: the node never became idle (state \"${state:-}\"); logs: $(tail -5 "$dir/slurmctld.log" "$dir/slurmd.log")" >&2
  exit 1
  ;;
*) echo "usage: cluster.sh start|stop DIR" >&2; exit 2 ;;
esac
