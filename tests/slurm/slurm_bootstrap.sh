#!/usr/bin/env bash
# Real Slurm, the bootstrap script itself as the batch job: `sbatch pilot-bootstrap.sh --binary
# REL/pilot ... -- run --queue Q ...`. The bootstrap verifies the release binary against the
# pilot.sha256 beside it, makes a private work directory under the work base and execs the
# pilot there, which runs the local queue's jobs; the Slurm job ends COMPLETED. The cluster is
# always stopped.
#   slurm_bootstrap.sh PILOT_BIN TOYMC_BIN CLUSTER_SCRIPT
set -euo pipefail
pilot=$1
toymc=$2
cluster=$3
src=$(cd "$(dirname "$0")/../.." && pwd)

# shellcheck source=/dev/null
source "$(dirname "$0")/lib.sh"
on_failure() { echo "---- job output"; tail -n 40 "$tmp"/job.out; }
slurm_test_start slurm-bootstrap

# A release-like directory: the binary and its checksum file, as ci/release ships them.
rel=$tmp/release
mkdir -p "$rel" "$tmp/work"
cp "$pilot" "$rel/pilot"
(cd "$rel" && sha256sum pilot > pilot.sha256)

q=$tmp/queue
ids=()
for i in 1 2; do
  echo "[ Executable = \"/bin/sh\"; Arguments = \"-c 'echo short job $i'\"; CPUTime = 10; ]" > "$tmp/short$i.jdl"
  ids+=("$("$pilot" queue submit --queue "$q" "$tmp/short$i.jdl")")
done
echo "[ Executable = \"$toymc\"; Arguments = \"--events 20 --cpu-ms-per-event 1\"; JobType = \"MCSimulation\";
  CPUTime = 10; ]" > "$tmp/mc.jdl"
ids+=("$("$pilot" queue submit --queue "$q" "$tmp/mc.jdl")")

start=$(date +%s)
job=$(sbatch --parsable --time=2 -o "$tmp/job.out" "$src/bootstrap/pilot-bootstrap.sh" \
  --binary "$rel/pilot" --work-base "$tmp/work" --min-disk-mb 10 -- \
  run --queue "$q" --json --watch-period 1 \
  --set processors=1 --set cpu_power_hs06=10 --set polling_s=0.2 \
  --set stop_after_failed_matches=1 --set min_cpu_work_left_hs06s=1 --set min_free_disk_mb=10)
job=${job%%;*}
echo "submitted the bootstrap script as job $job"
state=$(wait_job_end "$job" 200)
echo "job state $state after $(($(date +%s) - start)) s"
[ "$state" = COMPLETED ] || fail "the bootstrap job ended $state, not COMPLETED"

grep -q "verified $rel/pilot (sha256 $(cut -d' ' -f1 "$rel/pilot.sha256"))" "$tmp/job.out" ||
  fail "the bootstrap did not log that it verified the binary"
workdir=$(sed -n "s|^pilot-bootstrap.sh: starting \($tmp/work/pilot\.[^/]*\)/pilot run .*|\1|p" "$tmp/job.out")
[ -n "$workdir" ] || fail "the pilot was not started from a private work directory under $tmp/work"
grep -q -- "--workdir $workdir\$" "$tmp/job.out" || fail "the pilot was not given its private work directory"
for id in "${ids[@]}"; do
  [ -d "$workdir/job_$id" ] || fail "job $id did not run in $workdir"
  status=$("$pilot" queue show --queue "$q" "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$status" = Done ] || fail "job $id ended $status, not Done"
done
[ "$(wc -l < "$workdir/job_${ids[2]}/toymc.out")" = 20 ] || fail "the MC job did not produce its 20 events"
echo "ok: the bootstrap job verified the binary, ran ${#ids[@]} jobs in $workdir and COMPLETED"
