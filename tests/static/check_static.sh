#!/bin/sh
# Proves that the pilot binary is fully static: `file` says so, there is no program interpreter
# or dynamic section, and `pilot version` runs in an empty root that holds only the binary,
# /proc and /dev (no libc, no /etc, no shell). Prints the stripped size for the README.
set -eu
bin=$1
fail() { echo "FAIL: $*" >&2; exit 1; }

desc=$(file -b "$bin")
echo "file: $desc"
case "$desc" in *"statically linked"*) ;; *) fail "file does not say 'statically linked'";; esac
if readelf -lW "$bin" | grep -q 'INTERP'; then fail "the binary has a PT_INTERP program header"; fi
if readelf -dW "$bin" | grep -q 'NEEDED'; then fail "the binary needs shared libraries"; fi

tmp=$(mktemp -d)
trap 'umount "$tmp/root/proc" 2>/dev/null || true; rm -rf "$tmp"' EXIT
strip -o "$tmp/pilot.stripped" "$bin"
echo "size: $(stat -c %s "$bin") bytes unstripped, $(stat -c %s "$tmp/pilot.stripped") bytes stripped"

mkdir -p "$tmp/root"
if command -v bwrap >/dev/null 2>&1 && \
   out=$(bwrap --unshare-all --tmpfs / --ro-bind "$bin" /pilot --proc /proc --dev /dev \
         --chdir / --clearenv /pilot version 2>&1); then
  how="bwrap (tmpfs root with /pilot, /proc, /dev)"
else
  # Without user namespaces: a plain chroot in a private mount namespace.
  mkdir -p "$tmp/root/proc" "$tmp/root/dev"
  cp "$bin" "$tmp/root/pilot"
  out=$(unshare -m sh -c "mount -t proc proc '$tmp/root/proc' && mount --rbind /dev '$tmp/root/dev' && \
        env -i chroot '$tmp/root' /pilot version" 2>&1) || fail "pilot version failed in an empty root: $out"
  how="chroot (directory with /pilot, /proc, /dev)"
fi
case "$out" in "pilot "*) ;; *) fail "unexpected output in the empty root: $out";; esac
echo "empty root via $how: ok"
echo "$out" | head -n 2
