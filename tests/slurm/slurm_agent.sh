#!/usr/bin/env bash
# Real Slurm, the agent: `sbatch --time=1` of `pilot run` on a local queue holding two short jobs
# and one interruptible MC job too big for the slot. The pilot learns its end from Slurm
# (squeue), runs the short jobs, sizes the MC job, stops it gracefully when the end approaches,
# reports its events and exits before Slurm's kill. The cluster is always stopped.
#   slurm_agent.sh PILOT_BIN TOYMC_BIN CLUSTER_SCRIPT
set -euo pipefail
pilot=$1
toymc=$2
cluster=$3

# shellcheck source=/dev/null
source "$(dirname "$0")/lib.sh"
on_failure() { echo "---- pilot output"; tail -n 40 "$tmp"/job.out; }
slurm_test_start slurm-agent

q=$tmp/queue
for i in 1 2; do
  echo "[ Executable = \"/bin/sh\"; Arguments = \"-c 'echo short job $i'\"; CPUTime = 10; ]" > "$tmp/short$i.jdl"
  "$pilot" queue submit --queue "$q" "$tmp/short$i.jdl" >/dev/null
done
echo "[ Executable = \"$toymc\"; Arguments = \"--cpu-ms-per-event 10\"; JobType = \"MCSimulation\";
  CPUTime = 10; CPUe = 0.05; ]" > "$tmp/mc.jdl"
mc=$("$pilot" queue submit --queue "$q" "$tmp/mc.jdl")
cat > "$tmp/job.sh" <<JOB
#!/bin/sh
unset MACHINEFEATURES JOBFEATURES
exec "$pilot" run --queue "$q" --workdir "$tmp/work" --json --watch-period 2 \
  --set processors=1 --set cpu_power_hs06=10 --set grace_s=10 --set polling_s=0.5 \
  --set stop_after_failed_matches=1 --set min_cpu_work_left_hs06s=1 --set min_free_disk_mb=10
JOB
chmod 755 "$tmp/job.sh"
start=$(date +%s)
job=$(sbatch --parsable --time=1 -o "$tmp/job.out" "$tmp/job.sh")
job=${job%%;*}
echo "submitted pilot as job $job"
state=$(wait_job_end "$job" 200)
echo "pilot job state $state after $(($(date +%s) - start)) s"
[ "$state" = COMPLETED ] || fail "the pilot job ended $state, not COMPLETED before its time limit"
"$pilot" queue list --queue "$q" --json > "$tmp/list.json"
"$pilot" queue show --queue "$q" "$mc" > "$tmp/mc.json"
python3 - "$tmp" "$mc" <<'PY'
import json, sys
tmp, mc = sys.argv[1], sys.argv[2]
def fail(m): sys.exit("FAIL: " + m)
jobs = json.load(open(f"{tmp}/list.json"))
summary = json.loads(open(f"{tmp}/job.out").read().strip().splitlines()[-1])
st = json.load(open(f"{tmp}/mc.json"))
states = {j["id"]: j.get("status") for j in jobs}
if list(states.values()).count("Done") != 3: fail(f"job states {states}")
p = st["parameters"]
lines = sum(1 for _ in open(f"{tmp}/work/job_{mc}/toymc.out"))
print(f"MC job: {p.get('NumberOfEvents')} events reported ({p.get('EventsSource')}), {lines} in its output; "
      f"pilot: {summary['jobs_succeeded']} jobs done, stop: {summary['stop_reason']}")
if p.get("Interrupted") != "True": fail("the MC job was not interrupted")
if int(p["NumberOfEvents"]) != lines or lines == 0: fail("reported events differ from the output")
if summary["jobs_succeeded"] != 3: fail("not every job succeeded")
print("ok")
PY
