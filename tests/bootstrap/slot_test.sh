#!/bin/sh
# HLT-farm slot mode: `pilot-slot.sh start` runs the bootstrap (and so the verified pilot) in the
# background on a local queue holding two long interruptible MC jobs; once both payloads have
# checkpointed events, `pilot-slot.sh stop` reclaims the node. The pilot must be gone within the
# grace, both jobs Done with Interrupted=True and exactly the events their output holds, and
# `pilot-slot.sh status` must say not running.
#   slot_test.sh PILOT_BIN TOYMC_BIN
set -eu
pilot=$1
toymc=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
slot=$src/bootstrap/pilot-slot.sh
tmp=$(mktemp -d)
export PILOT_SLOT_PIDFILE=$tmp/slot.pid PILOT_SLOT_LOG=$tmp/slot.log PILOT_SLOT_GRACE=30
# Whatever happens, no pilot outlives the test.
trap 'sh "$slot" stop >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- slot log"; tail -n 40 "$tmp/slot.log"; exit 1; }

mkdir -p "$tmp/release" "$tmp/work"
cp "$pilot" "$tmp/release/pilot"
(cd "$tmp/release" && sha256sum pilot > pilot.sha256)
q=$tmp/queue
echo "[ Executable = \"$toymc\"; Arguments = \"--cpu-ms-per-event 5\"; JobType = \"MCSimulation\";
  CPUTime = 600; CPUe = 1; MaxNumberOfEvents = 100000; ]" > "$tmp/mc.jdl"
id1=$("$pilot" queue submit --queue "$q" "$tmp/mc.jdl")
id2=$("$pilot" queue submit --queue "$q" "$tmp/mc.jdl")

env -u MACHINEFEATURES -u JOBFEATURES sh "$slot" start --binary "$tmp/release/pilot" \
  --work-base "$tmp/work" --min-disk-mb 10 -- run --queue "$q" --json --watch-period 0.5 \
  --set processors=2 --set cpu_power_hs06=10 --set grace_s=10 --set polling_s=0.1 \
  --set stop_after_failed_matches=1 --set min_free_disk_mb=10 --set heartbeat_s=0.5
sh "$slot" status >/dev/null || fail "the slot does not report a running pilot after start"

checkpointed() {  # checkpointed ID: the job's payload has reported events > 0
  for f in "$tmp"/work/pilot.*/job_"$1"/pilot-checkpoint.txt; do
    n=$(sed -n 's/^events=//p' "$f" 2>/dev/null || true)
    case $n in ''|*[!0-9]*) return 1 ;; esac
    [ "$n" -gt 0 ] && return 0
  done
  return 1
}
i=0
until checkpointed "$id1" && checkpointed "$id2"; do
  i=$((i + 1))
  [ $i -lt 300 ] || fail "the two MC payloads did not checkpoint within 30 s"
  sleep 0.1
done

start=$(date +%s)
sh "$slot" stop > "$tmp/stop.out" || fail "pilot-slot.sh stop failed"
took=$(($(date +%s) - start))
cat "$tmp/stop.out"
[ $took -le "$PILOT_SLOT_GRACE" ] || fail "the reclaim took $took s, more than the ${PILOT_SLOT_GRACE}s grace"
if grep -q SIGTERM "$tmp/stop.out"; then fail "the pilot needed SIGTERM: it did not end within the grace"; fi
status=$(sh "$slot" status || true)
[ "$status" = "not running" ] || fail "pilot-slot.sh status says '$status' after stop"

workdir=$(echo "$tmp"/work/pilot.*)
for id in "$id1" "$id2"; do
  "$pilot" queue show --queue "$q" "$id" > "$tmp/show.json"
  lines=$(wc -l < "$workdir/job_$id/toymc.out")
  python3 - "$tmp/show.json" "$lines" "$id" <<'PY' || fail "job $id was not reported correctly"
import json, sys
st, lines, jid = json.load(open(sys.argv[1])), int(sys.argv[2]), sys.argv[3]
p = st["parameters"]
print(f"job {jid}: {st['status']}, Interrupted={p.get('Interrupted')}, "
      f"NumberOfEvents={p.get('NumberOfEvents')}, {lines} lines in toymc.out")
ok = st["status"] == "Done" and p.get("Interrupted") == "True" and lines > 0 \
     and int(p.get("NumberOfEvents", -1)) == lines
sys.exit(0 if ok else 1)
PY
done
echo "ok: the slot was reclaimed in $took s, both MC jobs interrupted with every event reported"
