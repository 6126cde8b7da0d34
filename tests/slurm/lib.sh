# Sourced by the Slurm test scripts (bash): a scratch directory with a real cluster in it that is
# always stopped, and a wait for a batch job's end. The sourcing script sets $cluster (the path of
# slurm-cluster.sh) and may define `on_failure`, whose output is shown when the test fails.

fail() { echo "FAIL: $*" >&2; exit 1; }

# slurm_test_start NAME: sets $tmp (world-readable, as Slurm jobs run the scripts in it) and
# $dir, starts the cluster and exports SLURM_CONF.
slurm_test_start() {
  tmp=$(mktemp -d "/tmp/pilot-$1.XXXXXX")
  chmod 755 "$tmp"
  dir=$tmp/cluster
  trap 'status=$?; [ $status -eq 0 ] || { declare -F on_failure >/dev/null && on_failure; } >&2; "$cluster" stop "$dir" || true; rm -rf "$tmp"; exit $status' EXIT
  eval "$("$cluster" start "$dir")"
}

# wait_job_end JOB SECONDS: waits until the job has ended and prints its final state (empty if it
# did not end in time).
wait_job_end() {
  local job=$1 state=
  for _ in $(seq 1 $(($2 * 2))); do
    state=$(scontrol show job -o "$job" | tr ' ' '\n' | sed -n 's/^JobState=//p')
    case $state in COMPLETED|FAILED|TIMEOUT|CANCELLED|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED) echo "$state"; return ;; esac
    sleep 0.5
  done
  echo ""
}
