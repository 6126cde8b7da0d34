#!/usr/bin/env bash
# A real single-node Slurm cluster on 127.0.0.1 for tests (needs root; no systemd needed):
# munged + slurmctld + slurmd with every file under one scratch directory, ports chosen free at
# start, so several clusters (and other test suites) can run side by side.
#
#   slurm-cluster.sh start DIR   create DIR, start the daemons, wait until the node is idle;
#                                prints the environment lines of `env`
#   slurm-cluster.sh env DIR     prints `export SLURM_CONF=...` (eval it before sbatch/squeue)
#   slurm-cluster.sh stop DIR    cancels every job, stops the daemons (and any job step they left)
#                                by the PIDs they recorded, waits for them to exit; idempotent
#
# DIR may also come from $SLURM_CLUSTER_DIR. Set SLURM_CLUSTER_CPUS (default 8),
# SLURM_CLUSTER_CTLD_PORT / SLURM_CLUSTER_SLURMD_PORT (default: free ports picked at start) and
# SLURM_CLUSTER_KEEP=1 (keep DIR after stop, for its logs). A start that fails stops what it
# started and prints the daemons' logs.
set -euo pipefail

cmd=${1:-}
dir=${2:-${SLURM_CLUSTER_DIR:-}}
usage() { echo "usage: $0 start|stop|env DIR" >&2; exit 2; }
[ -n "$cmd" ] && [ -n "$dir" ] || usage
die() { echo "slurm-cluster: $*" >&2; exit 1; }

conf() { echo "$dir/etc/slurm.conf"; }

print_env() {
  [ -f "$(conf)" ] || die "no cluster in $dir"
  echo "export SLURM_CONF=$(conf)"
}

free_ports() {
  # Two distinct free TCP ports on 127.0.0.1, from the kernel's ephemeral allocator.
  python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# PIDs of processes whose environment names this cluster's slurm.conf: job steps and scripts
# left behind by slurmd. Only ours match.
leftover_pids() {
  local c=$(conf) p
  for p in /proc/[0-9]*; do
    [ "${p#/proc/}" = "$$" ] && continue
    if { tr '\0' '\n' < "$p/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$c"; then echo "${p#/proc/}"; fi
  done
}

alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

stop_pid() {  # stop_pid PID NAME: TERM, up to 10 s, then KILL
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 100); do alive "$pid" || return 0; sleep 0.1; done
  echo "slurm-cluster: $2 ($pid) ignored SIGTERM, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}

pidfile_pid() { [ -f "$1" ] && cat "$1" 2>/dev/null || true; }

stop_cluster() {
  [ -d "$dir" ] || return 0
  if [ -f "$(conf)" ]; then
    export SLURM_CONF=$(conf)
    local ctld
    ctld=$(pidfile_pid "$dir/run/slurmctld.pid")
    if alive "$ctld"; then
      timeout 10 scancel --full --quiet --user=root 2>/dev/null || true
      local i
      for i in $(seq 1 50); do
        [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
        sleep 0.2
      done
    fi
  fi
  stop_pid "$(pidfile_pid "$dir/run/slurmd.pid")" slurmd
  stop_pid "$(pidfile_pid "$dir/run/slurmctld.pid")" slurmctld
  local p
  for p in $(leftover_pids); do stop_pid "$p" "job process"; done
  stop_pid "$(pidfile_pid "$dir/munge/munged.pid")" munged
  if [ "${SLURM_CLUSTER_KEEP:-0}" != 1 ]; then rm -rf "$dir"; fi
}

show_logs() {
  local f
  for f in "$dir"/log/*.log "$dir"/munge/munged.log; do
    [ -f "$f" ] || continue
    echo "---- $f (last 30 lines)" >&2
    tail -n 30 "$f" >&2
  done
}

start_cluster() {
  [ "$(id -u)" = 0 ] || die "needs root (slurmd runs jobs as their users)"
  local b
  for b in munged mungekey slurmctld slurmd sinfo sbatch squeue scancel python3 runuser; do
    command -v "$b" >/dev/null || die "$b not found: install slurmctld slurmd slurm-client munge python3 (ci/setup)"
  done
  if [ -f "$(conf)" ] && alive "$(pidfile_pid "$dir/run/slurmctld.pid")"; then die "a cluster is already running in $dir"; fi
  mkdir -p "$dir"/{etc,run,log,state,spool,munge}
  dir=$(cd "$dir" && pwd)
  # Whatever fails from here on (a command or a die), nothing is left running.
  trap 'rc=$?; if [ $rc -ne 0 ]; then echo "slurm-cluster: start failed" >&2; show_logs; SLURM_CLUSTER_KEEP=1 stop_cluster; fi' EXIT

  # munge: a private key and daemon, reachable only through this cluster's socket.
  chmod 711 "$dir" "$dir/munge"
  chown munge:munge "$dir/munge"
  runuser -u munge -- mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null
  chmod 400 "$dir/munge/munge.key"
  runuser -u munge -- munged --socket="$dir/munge/munge.socket.2" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed"
  local i d
  for i in $(seq 1 50); do [ -S "$dir/munge/munge.socket.2" ] && break; sleep 0.1; done
  [ -S "$dir/munge/munge.socket.2" ] || die "munged did not create its socket"

  local host ctld_port slurmd_port cpus=${SLURM_CLUSTER_CPUS:-8}
  host=$(hostname -s)
  read -r ctld_port slurmd_port < <(free_ports)
  ctld_port=${SLURM_CLUSTER_CTLD_PORT:-$ctld_port}
  slurmd_port=${SLURM_CLUSTER_SLURMD_PORT:-$slurmd_port}
  cat > "$(conf)" <<CONF
# Written by tests/slurm/slurm-cluster.sh: a single-node test cluster, everything under $dir.
ClusterName=pilottest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket.2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
MailProg=/bin/true
KillWait=5
OverTimeLimit=0
MinJobAge=300
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$(conf)
  slurmctld -i
  slurmd
  # Up to 30 s in all (sinfo itself can hang while the controller is not there), failing at once
  # when a daemon died (a port taken, a bad configuration).
  local state="" deadline=$((SECONDS + 30))
  while [ $SECONDS -lt $deadline ]; do
    state=$(timeout 3 sinfo -h -n "$host" -o %t 2>/dev/null || true)
    case "$state" in idle*|mix*|alloc*) break ;; esac
    for d in slurmctld slurmd; do
      if [ -f "$dir/run/$d.pid" ] && ! alive "$(pidfile_pid "$dir/run/$d.pid")"; then die "$d exited"; fi
    done
    sleep 0.2
  done
  case "$state" in idle*|mix*|alloc*) ;; *) die "node $host did not become idle within 30 s (state '${state:-none}')" ;; esac
  trap - EXIT
  print_env
}

case "$cmd" in
  start) start_cluster ;;
  stop) stop_cluster ;;
  env) print_env ;;
  *) usage ;;
esac
