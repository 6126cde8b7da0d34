#!/usr/bin/env bash
# Real Slurm: starts a single-node cluster (tests/slurm/slurm-cluster.sh), submits a job with
# --time=2 that runs `pilot features --json`, and checks what the pilot reports against Slurm's
# own view: the batch system and job id, and wall seconds left within 60 s of both `squeue %L`
# (taken in the job just before) and scontrol's EndTime. The cluster is always stopped.
#   slurm_features.sh PILOT_BIN CLUSTER_SCRIPT
set -euo pipefail
pilot=$1
cluster=$2

# shellcheck source=/dev/null
source "$(dirname "$cluster")/lib.sh"
on_failure() { echo "---- job output"; cat "$tmp"/out/job.out "$tmp"/out/features.err 2>/dev/null; }
slurm_test_start slurm-features

mkdir -p "$tmp/out"
cat > "$tmp/job.sh" <<JOB
#!/bin/sh
unset MACHINEFEATURES JOBFEATURES
out=$tmp/out
date +%s > \$out/squeue_at
squeue -h -j "\$SLURM_JOB_ID" -o %L > \$out/squeue_left
scontrol show job -o "\$SLURM_JOB_ID" > \$out/scontrol
"$pilot" features --json > \$out/features.json 2> \$out/features.err
echo \$? > \$out/rc.tmp && mv \$out/rc.tmp \$out/rc
JOB
chmod 755 "$tmp/job.sh"
job=$(sbatch --parsable --time=2 -o "$tmp/out/job.out" "$tmp/job.sh")
job=${job%%;*}
echo "submitted job $job"
for _ in $(seq 1 300); do [ -f "$tmp/out/rc" ] && break; sleep 0.2; done
[ -f "$tmp/out/rc" ] || fail "the job did not finish within 60 s (squeue: $(squeue -h -j "$job" 2>&1))"
[ "$(cat "$tmp/out/rc")" = 0 ] || fail "pilot features exited with $(cat "$tmp/out/rc")"
# EndTime as the running job saw it (once finished, EndTime is when it ended).
end_time=$(tr ' ' '\n' < "$tmp/out/scontrol" | sed -n 's/^EndTime=//p')
[ -n "$end_time" ] || fail "scontrol show job in the job printed no EndTime"
end_epoch=$(date -d "$end_time" +%s) || fail "scontrol gave no EndTime: $end_time"
echo "features: $(tr -d '\n' < "$tmp/out/features.json" | head -c 2000)"

python3 - "$tmp/out" "$job" "$end_epoch" <<'PY'
import json, sys
out, job, end_epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
f = json.load(open(f"{out}/features.json"))
def fail(msg):
    sys.exit(f"FAIL: {msg}")
def left_from_squeue(text):
    text = text.strip()
    days = 0
    if "-" in text:
        d, text = text.split("-", 1)
        days = int(d)
    parts = [int(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    h, m, s = parts
    return days * 86400 + h * 3600 + m * 60 + s
bs = f["batch_system"]
if bs["name"] != "slurm": fail(f"batch system {bs['name']!r}, expected 'slurm'")
if bs["job_id"] != job: fail(f"job id {bs['job_id']!r}, expected {job!r}")
if f["limited_by"] != "batch": fail(f"limited_by {f['limited_by']!r}, expected 'batch'")
left = f["wall_seconds_left"]
if not isinstance(left, int): fail(f"wall_seconds_left is {left!r}")
now = f["now"]
squeue_left = left_from_squeue(open(f"{out}/squeue_left").read())
squeue_at = int(open(f"{out}/squeue_at").read())
by_squeue = squeue_left - (now - squeue_at)
by_scontrol = end_epoch - now
print(f"pilot: {left} s left; squeue %L: {by_squeue} s; scontrol EndTime: {by_scontrol} s")
if not 0 < left <= 120: fail(f"{left} s left is outside (0, 120] for a --time=2 job")
for name, v in (("squeue", by_squeue), ("scontrol", by_scontrol)):
    if abs(left - v) > 60: fail(f"pilot says {left} s, {name} says {v} s")
if f["processors"] != 1 or f["processors_source"] != "SLURM_CPUS_ON_NODE":
    fail(f"processors {f['processors']} from {f['processors_source']}")
if f["machine"]["hs06"] is not None or f["job"]["shutdowntime_job"] is not None:
    fail("MJF keys without MJF")
print("ok")
PY
