#!/bin/sh
# ci/release makes a tarball whose bootstrap script verifies and starts the released binary.
set -eu
pilot=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PILOT_RELEASE_BIN=$pilot PILOT_RELEASE_DIR=$tmp/dist bash "$src/ci/release"
# What each library puts into the binary, from the release build's link map.
python3 - "$tmp/dist/pilot-size.json" "$pilot" <<'PY' || exit 1
import json, os, sys
d = json.load(open(sys.argv[1]))
parts = d["parts"]
ok = d["total"] > 0 and sum(parts.values()) == d["total"] and "libcrypto.a" in parts
# Allocated sections cannot exceed the unstripped file.
ok = ok and d["total"] <= os.path.getsize(sys.argv[2])
if not ok:
    sys.exit(f"FAIL: implausible size per library: total {d['total']}, {sorted(parts)[:10]}")
PY
mkdir -p "$tmp/node" "$tmp/work"
tar -C "$tmp/node" -xzf "$tmp"/dist/pilot-*.tar.gz
rel=$(echo "$tmp"/node/pilot-*)
file -b "$rel/pilot" | grep -q 'statically linked, .*stripped' || { echo "FAIL: not a stripped static binary"; exit 1; }
out=$(sh "$rel/pilot-bootstrap.sh" --work-base "$tmp/work" --min-disk-mb 1 -- version 2>"$tmp/err")
grep -q "verified $rel/pilot" "$tmp/err" || { echo "FAIL: the release was not verified"; cat "$tmp/err"; exit 1; }
echo "$out" | grep -q '^pilot ' || { echo "FAIL: the released pilot did not run"; exit 1; }
printf 'x' >> "$rel/pilot"
if sh "$rel/pilot-bootstrap.sh" --work-base "$tmp/work" --min-disk-mb 1 -- version 2>"$tmp/err"; then
  echo "FAIL: a modified release binary was accepted"; exit 1
fi
grep -q 'refusing to run it' "$tmp/err" || { echo "FAIL: no refusal message"; exit 1; }
echo "release verified by its bootstrap script; a modified binary is refused"
