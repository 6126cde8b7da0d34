#!/usr/bin/env bash
# Real Slurm, interruptible MC: `sbatch --time=1 --signal=B:USR1@30` of `pilot exec` running the
# toy MC payload with far too many events. Slurm's USR1 reaches the pilot (the batch shell execs
# it), the pilot stops the payload at an event boundary, and everything ends before Slurm's kill:
# the job record shows the graceful stop, and the checkpointed and reported event counts equal
# the events in the payload's output. The cluster is always stopped.
#   slurm_mc_exec.sh PILOT_BIN TOYMC_BIN CLUSTER_SCRIPT
set -euo pipefail
pilot=$1
toymc=$2
cluster=$3

# shellcheck source=/dev/null
source "$(dirname "$0")/lib.sh"
on_failure() { echo "---- job output"; cat "$tmp"/job.out "$tmp"/exec.json 2>/dev/null; }
slurm_test_start slurm-mc

cat > "$tmp/job.sh" <<JOB
#!/bin/sh
exec "$pilot" exec --workdir "$tmp/mcjob" --events 100000000 --poll 0.2 --grace 20 --json -- \
  "$toymc" --cpu-ms-per-event 5 > "$tmp/exec.json"
JOB
chmod 755 "$tmp/job.sh"
start=$(date +%s)
job=$(sbatch --parsable --time=1 --signal=B:USR1@30 -o "$tmp/job.out" "$tmp/job.sh")
job=${job%%;*}
echo "submitted job $job"
state=$(wait_job_end "$job" 300)
ended=$(date +%s)
echo "job state $state after $((ended - start)) s"
[ "$state" != TIMEOUT ] || fail "Slurm killed the job at its time limit: the stop was not graceful"
[ -s "$tmp/exec.json" ] || fail "pilot exec printed no record"
python3 - "$tmp" <<'PY'
import json, sys
tmp = sys.argv[1]
r = json.loads(open(f"{tmp}/exec.json").read().strip().splitlines()[-1])
rec = json.load(open(f"{tmp}/mcjob/job.json"))
lines = sum(1 for _ in open(f"{tmp}/mcjob/toymc.out"))
cp = dict(l.split("=", 1) for l in open(f"{tmp}/mcjob/pilot-checkpoint.txt").read().split())
def fail(m): sys.exit("FAIL: " + m)
print(f"events reported {r['events']} ({r['events_source']}), checkpointed {cp['events']}, in output {lines}")
if not rec.get("stop_requested_at"): fail("no graceful stop in the job record")
if "SIGUSR1" not in rec.get("reason_detail", ""): fail(f"stop reason {rec.get('reason_detail')!r} does not name SIGUSR1")
if r["exit_code"] != 130 or not r["interrupted"]: fail(f"exit {r['exit_code']}, interrupted {r['interrupted']}")
if not (r["events"] == int(cp["events"]) == lines > 0): fail("event counts differ")
if r["events"] >= 100000000: fail("the payload was not interrupted")
print("ok: graceful stop before the kill, no event lost")
PY
