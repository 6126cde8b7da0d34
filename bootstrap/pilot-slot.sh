#!/bin/sh
# pilot-slot.sh: runs a pilot on an opportunistic whole-node slot (HLT farm node, idle desktop)
# for nodes without systemd; bootstrap/pilot-slot.service does the same under systemd.
#
#   pilot-slot.sh start [bootstrap options] [-- pilot arguments]
#                                                   start the pilot in the background
#   pilot-slot.sh stop                              reclaim the node (graceful, then forced)
#   pilot-slot.sh status                            exit 0 while a pilot runs
#
# Reclaiming sends SIGUSR1 to the pilot, which interrupts its Monte Carlo payloads at the next
# event boundary, reports their events and exits; after PILOT_SLOT_GRACE seconds (default 60)
# it gets SIGTERM, and SIGKILL 10 s later. A farm controller may equally send SIGUSR1 itself
# (kill -USR1 $(cat PIDFILE)) and wait for the process to go.
#
# Environment: PILOT_SLOT_PIDFILE (default /run/pilot-slot.pid, or $TMPDIR/pilot-slot.pid when
# /run is not writable), PILOT_SLOT_LOG (default: beside the pid file, pilot-slot.log),
# PILOT_SLOT_GRACE, PILOT_BOOTSTRAP (default: pilot-bootstrap.sh beside this script); the
# bootstrap script's own variables (PILOT_BINARY, PILOT_SHA256, ...) pass through.
set -u
PROG=pilot-slot.sh
here=$(cd "$(dirname "$0")" && pwd)
bootstrap=${PILOT_BOOTSTRAP:-$here/pilot-bootstrap.sh}
grace=${PILOT_SLOT_GRACE:-60}
if [ -n "${PILOT_SLOT_PIDFILE:-}" ]; then pidfile=$PILOT_SLOT_PIDFILE
elif [ -w /run ]; then pidfile=/run/pilot-slot.pid
else pidfile=${TMPDIR:-/tmp}/pilot-slot.pid
fi
logfile=${PILOT_SLOT_LOG:-$(dirname "$pidfile")/pilot-slot.log}

die() { echo "$PROG: error: $*" >&2; exit 1; }
running_pid() {
  pid=$(cat "$pidfile" 2>/dev/null || true)
  case $pid in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie (state Z) has exited; an init that is slow to reap must not make it look alive.
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo Z)
  [ "$state" != Z ] || return 1
  echo "$pid"
}
wait_gone() {  # wait_gone PID SECONDS
  n=0
  while [ "$n" -lt $(($2 * 10)) ]; do
    running_pid >/dev/null || return 0
    sleep 0.1
    n=$((n + 1))
  done
  return 1
}

case $# in 0) die "usage: $PROG start|stop|status [bootstrap options] [-- pilot arguments]" ;; esac
cmd=$1
shift
case $cmd in
  start)
    if pid=$(running_pid); then die "a pilot is already running on this slot (pid $pid)"; fi
    [ -x "$bootstrap" ] || [ -f "$bootstrap" ] || die "bootstrap script $bootstrap not found"
    # setsid: the pilot must not die with the shell or terminal that started it. The bootstrap
    # execs the pilot, so the recorded pid is the pilot's own.
    setsid sh "$bootstrap" "$@" >>"$logfile" 2>&1 </dev/null &
    echo $! > "$pidfile"
    echo "$PROG: pilot started (pid $!, log $logfile)"
    ;;
  stop)
    pid=$(running_pid) || { echo "$PROG: no pilot running"; rm -f "$pidfile"; exit 0; }
    echo "$PROG: reclaiming the node: SIGUSR1 to pilot $pid, grace ${grace}s"
    kill -USR1 "$pid" 2>/dev/null
    if ! wait_gone "$pid" "$grace"; then
      echo "$PROG: pilot $pid still running after ${grace}s: SIGTERM"
      kill -TERM "$pid" 2>/dev/null
      if ! wait_gone "$pid" 10; then
        echo "$PROG: SIGKILL to pilot $pid"
        kill -KILL "$pid" 2>/dev/null
      fi
    fi
    rm -f "$pidfile"
    echo "$PROG: node reclaimed"
    ;;
  status)
    if pid=$(running_pid); then echo "running (pid $pid)"; exit 0; fi
    echo "not running"
    exit 3
    ;;
  *) die "unknown command '$cmd' (start, stop, status)" ;;
esac
