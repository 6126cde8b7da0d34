#!/bin/sh
# pilot-bootstrap.sh: the script a batch system, a VM or a farm slot starts. It finds the pilot
# binary (CVMFS, a local file, or an HTTPS URL), verifies its SHA-256, checks the node (free
# disk, CVMFS repositories), makes a private work directory and execs the pilot there, so that
# batch signals (SIGTERM, SIGUSR1, ...) reach the pilot directly. POSIX sh: runs under dash,
# bash and busybox sh.
set -u

PROG=pilot-bootstrap.sh

usage() {
  cat <<EOF
Usage: $PROG [options] [-- pilot arguments...]

Finds, verifies and starts the pilot in a private work directory. Options may also be given
through the environment variable in brackets.

  --binary SRC        pilot binary: a path (e.g. on CVMFS) or an https:// URL  [PILOT_BINARY]
                      default: ./pilot beside this script
  --sha256 HEX        expected SHA-256 of the binary                           [PILOT_SHA256]
  --sha256-file FILE  file holding it (sha256sum format, e.g. pilot.sha256)    [PILOT_SHA256_FILE]
                      default: pilot.sha256 beside the binary, when it exists
  --no-verify         run an unverified binary (development only)              [PILOT_NO_VERIFY=1]
  --cvmfs REPOS       comma-separated CVMFS repositories that must be there    [PILOT_CVMFS_REPOS]
  --cvmfs-root DIR    where CVMFS is mounted (default /cvmfs)                  [PILOT_CVMFS_ROOT]
  --min-disk-mb N     free space needed in the work area (default 2560)        [PILOT_MIN_DISK_MB]
  --work-base DIR     where the private work directory is made                 [PILOT_WORK_BASE]
                      default: the batch scratch directory (_CONDOR_SCRATCH_DIR,
                      SLURM_TMPDIR, TMPDIR), else /tmp
  --dry-run           do every check, print the command, do not start the pilot
  -h, --help          this text

Arguments after -- are passed to the pilot (default: run). The pilot is started as
"pilot ARGS --workdir DIR" unless ARGS is a single non-run subcommand such as "version".

Work directories are named pilot.<host>.XXXXXX and hold owner.pid. As the pilot replaces this
script (exec), a directory is removed by the next bootstrap on the same work area once its pilot
has exited.

Exit codes: 2 bad usage, 3 the binary cannot be fetched, 4 checksum mismatch, 5 node check
failed (disk, CVMFS); otherwise the pilot's own exit code.
EOF
}

die() { code=$1; shift; echo "$PROG: error: $*" >&2; exit "$code"; }
log() { echo "$PROG: $*" >&2; }

binary=${PILOT_BINARY:-}
sha256=${PILOT_SHA256:-}
sha256_file=${PILOT_SHA256_FILE:-}
no_verify=${PILOT_NO_VERIFY:-0}
cvmfs_repos=${PILOT_CVMFS_REPOS:-}
cvmfs_root=${PILOT_CVMFS_ROOT:-/cvmfs}
min_disk_mb=${PILOT_MIN_DISK_MB:-2560}
work_base=${PILOT_WORK_BASE:-}
dry_run=0

while [ $# -gt 0 ]; do
  case $1 in
    --binary) [ $# -ge 2 ] || die 2 "--binary needs a value"; binary=$2; shift 2 ;;
    --sha256) [ $# -ge 2 ] || die 2 "--sha256 needs a value"; sha256=$2; shift 2 ;;
    --sha256-file) [ $# -ge 2 ] || die 2 "--sha256-file needs a value"; sha256_file=$2; shift 2 ;;
    --no-verify) no_verify=1; shift ;;
    --cvmfs) [ $# -ge 2 ] || die 2 "--cvmfs needs a value"; cvmfs_repos=$2; shift 2 ;;
    --cvmfs-root) [ $# -ge 2 ] || die 2 "--cvmfs-root needs a value"; cvmfs_root=$2; shift 2 ;;
    --min-disk-mb) [ $# -ge 2 ] || die 2 "--min-disk-mb needs a value"; min_disk_mb=$2; shift 2 ;;
    --work-base) [ $# -ge 2 ] || die 2 "--work-base needs a value"; work_base=$2; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) die 2 "unknown option '$1' (see $PROG --help)" ;;
  esac
done

case $min_disk_mb in ''|*[!0-9]*) die 2 "--min-disk-mb must be a whole number of MB, got '$min_disk_mb'" ;; esac

here=$(cd "$(dirname "$0")" && pwd)
[ -n "$binary" ] || binary=$here/pilot

if [ -z "$work_base" ]; then
  for candidate in "${_CONDOR_SCRATCH_DIR:-}" "${SLURM_TMPDIR:-}" "${TMPDIR:-}" /tmp; do
    if [ -n "$candidate" ] && [ -d "$candidate" ] && [ -w "$candidate" ]; then
      work_base=$candidate
      break
    fi
  done
fi
[ -d "$work_base" ] || die 5 "work area $work_base does not exist"
[ -w "$work_base" ] || die 5 "work area $work_base is not writable"

host=$(hostname 2>/dev/null || uname -n)

# Directories of earlier pilots on this work area whose process is gone.
for old in "$work_base"/pilot."$host".*; do
  [ -d "$old" ] || continue
  pid=$(cat "$old/owner.pid" 2>/dev/null || true)
  case $pid in ''|*[!0-9]*) continue ;; esac
  if ! kill -0 "$pid" 2>/dev/null; then
    log "removing the work directory of finished pilot $pid: $old"
    rm -rf "$old"
  fi
done

# Node checks, before anything is downloaded.
avail_kb=$(df -Pk "$work_base" 2>/dev/null | awk 'NR==2 {print $4}')
case $avail_kb in ''|*[!0-9]*) die 5 "cannot read the free space of $work_base" ;; esac
if [ $((avail_kb / 1024)) -lt "$min_disk_mb" ]; then
  die 5 "only $((avail_kb / 1024)) MB free in $work_base, at least $min_disk_mb MB are needed"
fi

if [ -n "$cvmfs_repos" ]; then
  old_ifs=$IFS
  IFS=,
  for repo in $cvmfs_repos; do
    IFS=$old_ifs
    [ -n "$repo" ] || continue
    # Listing the directory makes autofs mount the repository.
    if ! ls "$cvmfs_root/$repo/" >/dev/null 2>&1 || [ -z "$(ls -A "$cvmfs_root/$repo/" 2>/dev/null)" ]; then
      die 5 "CVMFS repository $repo is not available under $cvmfs_root"
    fi
  done
  IFS=$old_ifs
fi

workdir=$(mktemp -d "$work_base/pilot.$host.XXXXXX") || die 5 "cannot create a work directory in $work_base"
chmod 700 "$workdir"
# exec keeps this process id, so owner.pid names the pilot itself.
echo $$ > "$workdir/owner.pid"
fail() { code=$1; shift; rm -rf "$workdir"; die "$code" "$@"; }

case $binary in
  https://*|http://*)
    case $binary in http://*) log "warning: fetching the pilot over plain http; the checksum is what protects it" ;; esac
    if command -v curl >/dev/null 2>&1; then
      curl -fsSL --retry 3 --connect-timeout 20 --max-time 300 -o "$workdir/pilot" "$binary" ||
        fail 3 "cannot download $binary with curl"
    elif command -v wget >/dev/null 2>&1; then
      wget -q -T 60 -t 3 -O "$workdir/pilot" "$binary" || fail 3 "cannot download $binary with wget"
    else
      fail 3 "neither curl nor wget is available to download $binary"
    fi
    ;;
  *)
    [ -f "$binary" ] || fail 3 "pilot binary $binary does not exist"
    # A copy: the source (e.g. on CVMFS) may change while the pilot runs.
    cp "$binary" "$workdir/pilot" || fail 3 "cannot copy $binary"
    if [ -z "$sha256" ] && [ -z "$sha256_file" ] && [ -f "$binary.sha256" ]; then sha256_file=$binary.sha256; fi
    if [ -z "$sha256" ] && [ -z "$sha256_file" ] && [ -f "$(dirname "$binary")/pilot.sha256" ]; then
      sha256_file=$(dirname "$binary")/pilot.sha256
    fi
    ;;
esac

if [ -n "$sha256_file" ] && [ -z "$sha256" ]; then
  [ -f "$sha256_file" ] || fail 4 "checksum file $sha256_file does not exist"
  sha256=$(awk 'NR==1 {print $1}' "$sha256_file")
fi

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | awk '{print $1}'
  elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 "$1" | awk '{print $NF}'
  elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | awk '{print $1}'
  else echo ""
  fi
}

if [ "$no_verify" = 1 ]; then
  log "warning: not verifying the pilot binary (--no-verify)"
else
  [ -n "$sha256" ] || fail 4 "no expected SHA-256 for $binary (give --sha256 or --sha256-file, or --no-verify)"
  expected=$(echo "$sha256" | tr 'A-F' 'a-f')
  case $expected in *[!0-9a-f]*|'') fail 4 "expected SHA-256 '$sha256' is not a hex digest" ;; esac
  [ ${#expected} -eq 64 ] || fail 4 "expected SHA-256 '$sha256' does not have 64 hex digits"
  actual=$(sha256_of "$workdir/pilot")
  [ -n "$actual" ] || fail 4 "no sha256sum, openssl or shasum to verify the binary with"
  if [ "$actual" != "$expected" ]; then
    fail 4 "pilot binary $binary has SHA-256 $actual, expected $expected: refusing to run it"
  fi
  log "verified $binary (sha256 $actual)"
fi
chmod 755 "$workdir/pilot"

if [ $# -eq 0 ]; then set -- run; fi
cd "$workdir" || fail 5 "cannot enter $workdir"
if [ "$1" = run ]; then set -- "$@" --workdir "$workdir"; fi
if [ "$dry_run" = 1 ]; then
  echo "$workdir/pilot $*"
  rm -rf "$workdir"
  exit 0
fi
log "starting $workdir/pilot $*"
exec "$workdir/pilot" "$@"
