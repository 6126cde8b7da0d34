#!/bin/sh
# `pilot userdata` output is a valid #cloud-config (cloud-init schema), and cloud-init really
# runs it offline: the boot stages run inside bubblewrap with a NoCloud seed, the files are
# written, and the VM's pilot is fetched, verified, started and runs the job waiting in the
# local queue its configuration names.
set -eu
pilot=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/seed"
cp "$pilot" "$tmp/seed/pilot"
sum=$(sha256sum "$tmp/seed/pilot" | cut -d' ' -f1)
echo '{"queue_dir": "/var/lib/pilot/queue", "site": "Cloud.Test.org"}' > "$tmp/pilot.json"
"$pilot" userdata --config "$tmp/pilot.json" --binary-url /tmp/seed/pilot --sha256 "$sum" \
  --total-cpu 2 --hs06 20 --grace 30 -o "$tmp/seed/user-data"
cloud-init schema --config-file "$tmp/seed/user-data"
echo "[ Executable = \"/bin/sh\"; Arguments = \"-c 'echo job from the VM queue'\"; CPUTime = 10; ]" > "$tmp/seed/job.jdl"
printf 'instance-id: pilot-test\nlocal-hostname: pilot-test-vm\n' > "$tmp/seed/meta-data"

# A writable copy of /etc, an empty /var, /run and /usr/local: the VM's disk.
cp -a /etc "$tmp/etc" 2>/dev/null || true
cat > "$tmp/etc/cloud/cloud.cfg" <<CFG
datasource_list: [ NoCloud, None ]
datasource:
  NoCloud:
    seedfrom: /tmp/seed/
cloud_init_modules: [ write_files ]
cloud_config_modules: [ runcmd ]
cloud_final_modules: [ scripts_user ]
system_info:
  distro: debian
CFG
bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /run --tmpfs /tmp --bind "$tmp/etc" /etc \
  --tmpfs /var --tmpfs /usr/local --ro-bind "$tmp/seed" /tmp/seed --bind "$tmp" /tmp/out \
  --unshare-pid --unshare-net --unshare-uts --unshare-ipc --die-with-parent \
  sh -c 'id=$(/tmp/seed/pilot queue submit --queue /var/lib/pilot/queue /tmp/seed/job.jdl) &&
         cloud-init init --local && cloud-init init && cloud-init modules --mode config &&
         cloud-init modules --mode final; cloud-init status --long > /tmp/out/status;
         for i in $(seq 1 50); do grep -q "starting" /var/log/pilot-slot.log 2>/dev/null && break; sleep 0.1; done
         for i in $(seq 1 100); do /tmp/seed/pilot queue show --queue /var/lib/pilot/queue "$id" > /tmp/out/job.json 2>&1;
           grep -q "\"status\": *\"Done\"" /tmp/out/job.json && break; sleep 0.2; done
         sleep 1; cp /var/log/pilot-slot.log /tmp/out/slot.log; ls /etc/pilot /usr/local/libexec/pilot > /tmp/out/files;
         cat /etc/pilot/machinefeatures/hs06 > /tmp/out/hs06' > "$tmp/cloud-init.log" 2>&1 || { cat "$tmp/cloud-init.log"; exit 1; }
fail() { echo "FAIL: $*"; echo "--- status"; cat "$tmp/status"; echo "--- slot log"; cat "$tmp/slot.log"; exit 1; }
grep -q 'status: done' "$tmp/status" || fail "cloud-init did not finish"
grep -q 'pilot.json' "$tmp/files" || fail "the configuration was not written"
grep -q 'pilot-bootstrap.sh' "$tmp/files" || fail "the bootstrap script was not written"
[ "$(cat "$tmp/hs06")" = 20 ] || fail "MJF hs06 was not written"
grep -q "verified /tmp/seed/pilot (sha256 $sum)" "$tmp/slot.log" || fail "the binary was not verified"
grep -q "starting /var/lib/pilot/pilot\..*/pilot run --config /etc/pilot/pilot.json" "$tmp/slot.log" ||
  fail "the pilot was not started"
python3 -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["status"] != "Done")' "$tmp/job.json" ||
  { cat "$tmp/job.json"; fail "the job in the VM's queue did not end Done"; }
echo "cloud-init ran the user-data offline: files written, binary verified, pilot started, queued job Done"
