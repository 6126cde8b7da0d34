#!/bin/sh
# pilot-shutdown-hook.sh [SECONDS]: announces the end of this machine to the pilot through
# Machine/Job Features: writes $MACHINEFEATURES/shutdowntime = now + SECONDS (default
# $PILOT_SLOT_GRACE, else 60), then waits up to that long for the pilot to finish. The pilot
# re-reads shutdowntime while it runs and stops its Monte Carlo payloads at an event boundary.
# Called by the VM's shutdown unit, or by a cloud's preemption notice.
set -u
[ -f /etc/pilot/slot.env ] && { set -a; . /etc/pilot/slot.env; set +a; }
grace=${1:-${PILOT_SLOT_GRACE:-60}}
case $grace in ''|*[!0-9]*) echo "pilot-shutdown-hook: grace must be whole seconds, got '$grace'" >&2; exit 2 ;; esac
mjf=${MACHINEFEATURES:-/etc/pilot/machinefeatures}
now=$(date +%s)
mkdir -p "$mjf"
echo $((now + grace)) > "$mjf/shutdowntime.tmp.$$" && mv "$mjf/shutdowntime.tmp.$$" "$mjf/shutdowntime"
echo "pilot-shutdown-hook: shutdowntime $((now + grace)) written to $mjf"
here=$(cd "$(dirname "$0")" && pwd)
while [ "$(date +%s)" -lt $((now + grace)) ]; do
  if [ -d /run/systemd/system ]; then
    systemctl is-active --quiet pilot.service || exit 0
  else
    sh "$here/pilot-slot.sh" status >/dev/null 2>&1 || exit 0
  fi
  sleep 1
done
echo "pilot-shutdown-hook: the pilot is still running after ${grace}s" >&2
