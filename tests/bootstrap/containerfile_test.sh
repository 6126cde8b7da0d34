#!/bin/sh
# bootstrap/Containerfile, checked without a container engine: it starts FROM scratch, every
# file it COPYs is in ci/release's output (its build context), and the image's root (those files
# at their destinations, the WORKDIR, nothing else) runs the ENTRYPOINT: `version`, and the
# default CMD's `run` on a local queue whose job ends Done, in a bubblewrap tmpfs root.
#   containerfile_test.sh PILOT_BIN
set -eu
pilot=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
cf=$src/bootstrap/Containerfile
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

PILOT_RELEASE_BIN=$pilot PILOT_RELEASE_DIR=$tmp/dist bash "$src/ci/release" >/dev/null
(cd "$tmp/dist" && sha256sum -c --quiet pilot.sha256) || fail "the context's pilot.sha256 does not match its pilot"

# The Containerfile as the bwrap arguments of its root: one line per instruction.
python3 - "$cf" "$tmp/dist" > "$tmp/root.args" <<'PY'
import json, os, shlex, sys
cf, ctx = sys.argv[1], sys.argv[2]
def fail(m): sys.exit(f"FAIL: {cf}: {m}")
text = open(cf).read().replace("\\\n", " ")
instr = [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
froms = [l for l in instr if l.upper().startswith("FROM ")]
if froms != ["FROM scratch"]: fail(f"the image must be FROM scratch only, got {froms}")
binds, dirs, entry, cmd, workdir = [], set(), None, [], "/"
for l in instr:
    op, _, rest = l.partition(" ")
    op = op.upper()
    if op == "COPY":
        *srcs, dst = shlex.split(rest)
        if any(s.startswith("--") for s in srcs): fail(f"unexpected COPY flag in '{l}'")
        for s in srcs:
            if not os.path.isfile(os.path.join(ctx, s)): fail(f"COPY source '{s}' is not in ci/release's output")
            binds.append((os.path.join(ctx, s), dst + os.path.basename(s) if dst.endswith("/") else dst))
    elif op == "WORKDIR": workdir = rest.strip(); dirs.add(workdir)
    elif op == "ENTRYPOINT": entry = json.loads(rest)
    elif op == "CMD": cmd = json.loads(rest)
if not entry: fail("no exec-form ENTRYPOINT")
print("binds=" + shlex.quote(" ".join(f"--ro-bind {shlex.quote(s)} {shlex.quote(d)}" for s, d in binds)))
print("dirs=" + shlex.quote(" ".join(f"--dir {shlex.quote(d)}" for d in sorted(dirs))))
print("workdir=" + shlex.quote(workdir))
print("entry=" + shlex.quote(" ".join(shlex.quote(a) for a in entry)))
print("cmd=" + shlex.quote(" ".join(shlex.quote(a) for a in cmd)))
print("files=" + shlex.quote(" ".join(d for _, d in binds)))
PY
. "$tmp/root.args"
echo "image files: $files; WORKDIR $workdir; ENTRYPOINT $entry; CMD $cmd"

# The image's root: a tmpfs with only the copied files and the WORKDIR (+ /proc, /dev, /tmp
# that any engine mounts), no environment.
image() { eval "bwrap --unshare-all --tmpfs / $binds $dirs --proc /proc --dev /dev --tmpfs /tmp \
  --chdir $workdir --clearenv $entry \"\$@\""; }
out=$(image version 2>&1) || fail "the ENTRYPOINT did not run in the empty root: $out"
case $out in "pilot "*) ;; *) fail "unexpected 'version' output in the empty root: $out" ;; esac
# The default CMD's `run` on a local queue (a volume under the WORKDIR) holding one job whose
# payload is the only program in the image; the agent ends once the queue is empty.
echo '[ Executable = "/usr/bin/pilot"; Arguments = "version"; CPUTime = 10; ]' > "$tmp/job.jdl"
id=$("$pilot" queue submit --queue "$tmp/queue" "$tmp/job.jdl")
binds="$binds --bind $tmp/queue $workdir/queue"
out=$(eval "image $cmd --queue $workdir/queue --json --set stop_after_failed_matches=1 \
  --set polling_s=0.1 --set min_free_disk_mb=1 --set cpu_power_hs06=10 --watch-period 1" 2>"$tmp/run.err") ||
  { cat "$tmp/run.err"; fail "the default CMD (run) failed in the empty root"; }
status=$("$pilot" queue show --queue "$tmp/queue" "$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
[ "$status" = Done ] || { tail -n 20 "$tmp/run.err"; fail "the job in the image ended $status, not Done"; }
sha=$(cut -d' ' -f1 "$tmp/dist/pilot.sha256")
cmp -s "$tmp/dist/pilot-bootstrap.sh" "$src/bootstrap/pilot-bootstrap.sh" || fail "the shipped bootstrap script differs"
echo "ok: every COPY source is in the release output; the image root runs the pilot (sha256 $sha) and its default CMD ran job $id to Done"
