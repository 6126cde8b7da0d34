#!/bin/sh
# Tests of bootstrap/pilot-bootstrap.sh under one shell: tests/bootstrap/bootstrap_test.sh SHELL PILOT
# Each case runs the real script with the real pilot binary.
set -u
shell=$1
pilot=$2
script=$(cd "$(dirname "$0")/../../bootstrap" && pwd)/pilot-bootstrap.sh
tmp=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
failures=0
passes=0
check() {  # check NAME CONDITION-EXIT-CODE
  if [ "$2" -eq 0 ]; then passes=$((passes + 1)); echo "ok: $1"; else failures=$((failures + 1)); echo "FAIL: $1"; fi
}
run() {  # run ARGS...: sets rc, out, err
  $shell "$script" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(cat "$tmp/out")
  err=$(cat "$tmp/err")
}

mkdir -p "$tmp/rel" "$tmp/work" "$tmp/cvmfs/lhcb.cern.ch/lib"
cp "$pilot" "$tmp/rel/pilot"
sum=$(sha256sum "$tmp/rel/pilot" | awk '{print $1}')
( cd "$tmp/rel" && sha256sum pilot > pilot.sha256 )

run --binary "$tmp/rel/pilot" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "good binary with --sha256 runs the pilot" "$([ $rc -eq 0 ] && echo "$out" | grep -q '^pilot ' && echo 0 || echo 1)"

run --binary "$tmp/rel/pilot" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "pilot.sha256 beside the binary is found and verified" "$([ $rc -eq 0 ] && echo "$err" | grep -q verified && echo 0 || echo 1)"

cp "$tmp/rel/pilot" "$tmp/rel/corrupt"
printf 'x' >> "$tmp/rel/corrupt"
run --binary "$tmp/rel/corrupt" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "a corrupted binary is refused with exit 4" "$([ $rc -eq 4 ] && echo "$err" | grep -q 'refusing to run it' && [ -z "$out" ] && echo 0 || echo 1)"
check "the refused attempt leaves no work directory" "$([ -z "$(ls "$tmp/work")" ] && echo 0 || echo 1)"

mkdir -p "$tmp/bare"
cp "$tmp/rel/pilot" "$tmp/bare/pilot"
run --binary "$tmp/bare/pilot" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "a binary without any expected checksum is refused" "$([ $rc -eq 4 ] && echo "$err" | grep -q 'no expected SHA-256' && echo 0 || echo 1)"

run --binary "$tmp/rel/pilot" --sha256 "$sum" --cvmfs-root "$tmp/cvmfs" --cvmfs lhcb.cern.ch,lhcbdev.cern.ch --work-base "$tmp/work" --min-disk-mb 1 -- version
check "a missing CVMFS repository is a clear error (exit 5)" "$([ $rc -eq 5 ] && echo "$err" | grep -q "CVMFS repository lhcbdev.cern.ch is not available under $tmp/cvmfs" && echo 0 || echo 1)"

run --binary "$tmp/rel/pilot" --sha256 "$sum" --cvmfs-root "$tmp/cvmfs" --cvmfs lhcb.cern.ch --work-base "$tmp/work" --min-disk-mb 1 -- version
check "present CVMFS repositories pass" "$([ $rc -eq 0 ] && echo 0 || echo 1)"

run --binary "$tmp/rel/pilot" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 999999999 -- version
check "too little free disk is refused (exit 5)" "$([ $rc -eq 5 ] && echo "$err" | grep -q 'MB are needed' && echo 0 || echo 1)"

run --frobnicate
check "an unknown option is a usage error (exit 2)" "$([ $rc -eq 2 ] && echo 0 || echo 1)"

run --help
check "--help documents the options" "$([ $rc -eq 0 ] && echo "$out" | grep -q -- '--sha256' && echo 0 || echo 1)"

run --binary "$tmp/rel/pilot" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 1 --dry-run
check "pilot run gets its private work directory" "$([ $rc -eq 0 ] && echo "$out" | grep -q "/pilot run --workdir $tmp/work/pilot\." && echo 0 || echo 1)"

host=$(hostname 2>/dev/null || uname -n)
mkdir -p "$tmp/work/pilot.$host.stale" "$tmp/work/pilot.$host.alive"
sh -c 'exit 0' & dead=$!; wait $dead
echo $dead > "$tmp/work/pilot.$host.stale/owner.pid"
echo $$ > "$tmp/work/pilot.$host.alive/owner.pid"
run --binary "$tmp/rel/pilot" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "work directories of finished pilots are removed, live ones kept" "$([ ! -d "$tmp/work/pilot.$host.stale" ] && [ -d "$tmp/work/pilot.$host.alive" ] && echo 0 || echo 1)"

# Fetching over HTTP from a real server on loopback (the checksum protects the download).
mkdir -p "$tmp/www"
cp "$tmp/rel/pilot" "$tmp/www/pilot"
python3 -m http.server --bind 127.0.0.1 --directory "$tmp/www" 0 >"$tmp/http.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 100); do
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/http.log" | head -n1)
  [ -n "$port" ] && break
  sleep 0.1
done
run --binary "http://127.0.0.1:$port/pilot" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "a binary fetched from a URL is verified and run" "$([ $rc -eq 0 ] && echo "$out" | grep -q '^pilot ' && echo 0 || echo 1)"
run --binary "http://127.0.0.1:$port/missing" --sha256 "$sum" --work-base "$tmp/work" --min-disk-mb 1 -- version
check "a failed download is exit 3 naming the URL" "$([ $rc -eq 3 ] && echo "$err" | grep -q "/missing" && echo 0 || echo 1)"

echo "$passes passed, $failures failed"
[ "$failures" -eq 0 ]
