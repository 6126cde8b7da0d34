#!/bin/sh
# The static pilot resolves names from /etc/hosts by itself: in an empty root holding only the
# binary, /proc, /dev and an /etc/hosts that maps mjf.pilot-test.example to 127.0.0.1, it reads
# MJF over HTTP from that name (a python3 http.server on 127.0.0.1 serving a directory).
#   static_mjf_http.sh PILOT_BIN
set -eu
bin=$1
fail() { echo "FAIL: $*" >&2; exit 1; }
name=mjf.pilot-test.example

tmp=$(mktemp -d)
server=""
cleanup() {
  [ -z "$server" ] || kill "$server" 2>/dev/null || true
  umount "$tmp/root/etc/hosts" "$tmp/root/proc" "$tmp/root/dev" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

mkdir -p "$tmp/www/machine" "$tmp/www/job"
echo 80 > "$tmp/www/machine/hs06"
echo 8 > "$tmp/www/machine/total_cpu"
printf ' 1700003600\n' > "$tmp/www/job/shutdowntime_job"
echo 2 > "$tmp/www/job/allocated_cpu"
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$name" > "$tmp/hosts"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" "$port" > "$tmp/server.log" 2>&1 &
server=$!
i=0
until python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/machine/hs06', timeout=1)" 2>/dev/null; do
  i=$((i + 1)); [ $i -lt 50 ] || fail "the HTTP server did not start: $(cat "$tmp/server.log")"
  sleep 0.1
done

set -- features --json --now 1700000000 --root /
mf="http://$name:$port/machine"
jf="http://$name:$port/job"
if command -v bwrap >/dev/null 2>&1 && \
   out=$(bwrap --unshare-all --share-net --tmpfs / --ro-bind "$bin" /pilot --proc /proc --dev /dev \
         --ro-bind "$tmp/hosts" /etc/hosts --chdir / --clearenv \
         --setenv MACHINEFEATURES "$mf" --setenv JOBFEATURES "$jf" /pilot "$@" 2>"$tmp/err"); then
  how="bwrap"
else
  # Without user namespaces: a chroot in a private mount namespace (the network stays shared).
  mkdir -p "$tmp/root/proc" "$tmp/root/dev" "$tmp/root/etc"
  cp "$bin" "$tmp/root/pilot"
  cp "$tmp/hosts" "$tmp/root/etc/hosts"
  out=$(unshare -m sh -c "mount -t proc proc '$tmp/root/proc' && mount --rbind /dev '$tmp/root/dev' && \
        env -i MACHINEFEATURES='$mf' JOBFEATURES='$jf' chroot '$tmp/root' /pilot $*" 2>"$tmp/err") || \
    fail "pilot features failed in an empty root: $(cat "$tmp/err")"
  how="chroot"
fi
echo "empty root via $how; pilot stderr: $(cat "$tmp/err")"
printf '%s\n' "$out" | python3 -c '
import json, sys
f = json.load(sys.stdin)
want = {("machine", "hs06"): 80.0, ("machine", "total_cpu"): 8, ("job", "shutdowntime_job"): 1700003600,
        ("job", "allocated_cpu"): 2}
for (s, k), v in want.items():
    if f[s][k] != v: sys.exit(f"FAIL: {s}.{k} is {f[s][k]!r}, expected {v!r} (name resolution or HTTP failed?)")
if f["wall_seconds_left"] != 3600 or f["limited_by"] != "shutdowntime_job":
    sys.exit("FAIL: wall_seconds_left %s limited by %s" % (f["wall_seconds_left"], f["limited_by"]))
print("read MJF over HTTP from", f["sources"]["machine"], "ok")
'
grep -q 'GET /job/shutdowntime_job' "$tmp/server.log" || fail "the server saw no request for shutdowntime_job"
