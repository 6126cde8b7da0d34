#!/usr/bin/env python3
"""Real pilots against a capacity-limited fake Matcher, next to pilot-farmsim on the same farm
(issue 18): does the simulator's fill of a farm match what real pilots do?

Starts tests/fake_dirac/fake_dirac.py as a Matcher of W workers and service time T (capacity W/T
requests/s) holding a backlog of B `sleep L` jobs, starts N `pilot run` processes of S slots each
at once, and measures from the server's records how fast the slots fill (the 50/90/99 % times),
the offered and served request rates, the request latency, the requests per match and the
time-outs. Then stops the pilots (SIGTERM: they stop their payloads), checks nothing of theirs is
left running, runs pilot-farmsim on the same farm, Matcher, start window and pacing (read back
from the pilot's --print-config) for several seeds, and prints the measured figures next to the
simulated median and range, with their ratio and whether each is within its tolerance (below).
Two runs: `fill`, time-outs out of reach (the fill is the Matcher's capacity), and `timeouts`,
the pilots' rpc_timeout_s at half the first burst's queue wait (time-outs, lost matches and
back-off). Python 3 standard library only; about a minute (--quick: 20 s).

    ci/farm_check.py [--quick] [--scenarios fill,timeouts] [--nodes N] [--slots S]
                     [--matcher-workers W] [--service-s T] [--service-dist const|exp] [--job-s L]
                     [--backlog B] [--rpc-timeout-s X] [--overload-timeout-s X] [--set KEY=VALUE]...
                     [--pilot BIN] [--farmsim BIN] [--seed N] [--sim-seeds K] [--json FILE]
                     [--keep DIR] [--measure-only]

Exit 0: the comparison holds; 3: it ran, but some figure is outside its tolerance; 1: the run
itself failed (a pilot did not start or stop, a stray process, the simulator failed).
"""

import argparse
import copy
import ctypes
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import descendants  # ci/bench.py: one walk of /proc for a process's tree

ROOT = Path(__file__).resolve().parent.parent
PR_SET_CHILD_SUBREAPER = 36

# A measured figure is within the check when it lies in the simulated seeds' range (the model's
# own randomness: jitter draws, start times) widened by its tolerance below, relative with an
# absolute floor for figures near zero. The tolerance is what the simulator leaves out:
# - fill times: during the fill the Matcher's FIFO queue stays full, so both sides fill at its
#   capacity; the real side also has, per match, the pilot's reports for the job on the same
#   worker thread as its next request (~0.1-0.2 s against the fake server), each call's TLS
#   handshake, Python's thread wake-ups and N start-ups sharing 2 cores (the start window is
#   measured, but the simulator spreads starts uniformly in it). 25 %, at least 1 s (one step of
#   the series).
# - latency: a queue wait; a pilot busy with its reports is not in the queue, so the real queue is
#   shorter than the simulated one by about that share. 35 %, at least 0.2 s.
# - counts (requests, matches, per match): the same farm and backlog give the same counts unless
#   time-outs or no-matches come in, and those are in the seeds' range. 10 %, at least 2.
# - time-outs: each one is followed by a uniform back-off draw, so one more or fewer changes who
#   is queued when; 25 %, at least 3.
# - the Matcher's utilisation during the fill: the capacity bounds both sides. 15 %, at least 0.05.
TOLERANCES = {
    "time_to_50_s": (0.25, 1.0), "time_to_90_s": (0.25, 1.0), "time_to_99_s": (0.25, 1.0),
    "latency_p50_s": (0.35, 0.2), "latency_p99_s": (0.35, 0.2),
    "requests": (0.10, 2), "matches": (0.10, 2), "requests_per_match": (0.10, 0.1),
    "timeouts": (0.25, 3), "fill_utilisation": (0.15, 0.05),
}
INFORMATIVE = ("served_per_s_fill", "max_offered_per_s")  # shown, not judged


class CheckError(Exception):
    pass


def wait_for(cond, what, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.02)
    raise CheckError(f"timed out after {timeout:.0f} s waiting for {what}")


def read_jsonl(path):
    """Complete lines only: the server may be writing the last one."""
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    return [json.loads(x) for x in text[:text.rfind("\n") + 1].splitlines() if x.strip()]


def processes_under(tmp):
    """Processes whose working directory or command line is in `tmp` (a payload of ours has its
    job directory as cwd, even once reparented away from us)."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(d / "cwd")
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cwd.startswith(str(tmp)) or str(tmp) in cmd:
            out.append((int(d.name), cmd.strip()))
    return out


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def percentile(values, q):
    """Nearest-rank percentile (the simulator's recorder takes the same)."""
    if not values:
        return None
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def default_farmsim(pilot):
    """pilot-farmsim of the same build tree as the pilot (<build>/pilot/cli/pilot), else
    build-sim's."""
    build = Path(pilot).resolve().parent.parent.parent
    for cand in (build / "pilot/farmsim/pilot-farmsim", ROOT / "build-sim/pilot/farmsim/pilot-farmsim"):
        if os.access(cand, os.X_OK):
            return str(cand)
    return str(build / "pilot/farmsim/pilot-farmsim")


# ---------------------------------------------------------------- the real farm


class RealFarm:
    def __init__(self, a, tmp):
        self.a = a
        self.tmp = tmp
        self.server = None
        self.pilots = []  # (Popen, workdir, trace file, log file)

    def start_server(self):
        pki = self.tmp / "pki"
        subprocess.run(["bash", str(ROOT / "tests/fake_dirac/make-test-pki.sh"), str(pki)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        jdl = self.tmp / "job.jdl"
        jdl.write_text(f'[ Executable = "/bin/sleep"; Arguments = "{self.a.job_s:g}"; CPUTime = 600; '
                       'JobID = {JobID}; ]')
        self.ports_file, self.record = self.tmp / "ports.json", self.tmp / "calls.jsonl"
        self.server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests/fake_dirac/fake_dirac.py"), "--pki", str(pki),
             "--port-file", str(self.ports_file), "--record", str(self.record), "--jobs", str(self.a.backlog),
             "--job-jdl", str(jdl), "--matcher-workers", str(self.a.matcher_workers),
             "--matcher-service-s", str(self.a.service_s), "--matcher-service-dist", self.a.service_dist,
             "--matcher-seed", str(self.a.seed), "--tcp-nodelay"],
            stdout=subprocess.DEVNULL, stderr=open(self.tmp / "server.err", "w"))
        wait_for(self.ports_file.exists, "the fake DIRAC server's ports", 30)
        self.ports = json.loads(self.ports_file.read_text())
        self.pki = pki

    def config_args(self, i):
        p, pki = self.ports, self.pki
        args = ["--set", f"services.matcher=[\"dips://localhost:{p['diset']}/WorkloadManagement/Matcher\"]",
                "--set", f"services.job_state_update=[\"https://localhost:{p['https']}/WorkloadManagement/"
                "TornadoJobStateUpdate\"]",
                "--set", "setup=Test-Setup", "--set", "vo=testvo", "--set", f"proxy={pki / 'proxy.pem'}",
                "--set", f"cert_dir={pki / 'certificates'}", "--set", "site=DIRAC.Test.ch",
                "--set", f"processors={self.a.slots}", "--set", "payload_proxy_required=false",
                "--set", "wall_limit_s=100000", "--set", "min_free_disk_mb=10", "--set", "cpu_power_hs06=10",
                "--set", "min_proxy_lifetime_s=600", "--set", f"drain_file={self.tmp / 'no-drain'}",
                "--set", f"pilot_uuid=farm-{i}", "--set", "grace_s=10",
                "--set", f"rpc_timeout_s={self.a.rpc_timeout_s:g}",
                # a time-out is the pilot's to ride out, as the simulated pilot does
                "--set", "max_host_failures=1000"]
        for kv in self.a.set:
            args += ["--set", kv]
        return args

    def effective_config(self):
        """The configuration every pilot runs with, as the pilot itself resolves it."""
        r = subprocess.run([self.a.pilot, "run", "--print-config", "--workdir", str(self.tmp / "print-config"),
                            *self.config_args(0)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise CheckError(f"pilot run --print-config exited {r.returncode}: {r.stderr.strip()}")
        return json.loads(r.stdout)

    def start_pilots(self):
        for i in range(self.a.nodes):
            work, trace, log = self.tmp / f"node{i}", self.tmp / f"trace{i}", self.tmp / f"pilot{i}.log"
            env = dict(os.environ, PILOT_TRACE=str(trace))
            p = subprocess.Popen([self.a.pilot, "--log-format", "json", "--log-level", "info", "--log-file", str(log),
                                  "run", "--workdir", str(work), "--json", *self.config_args(i)],
                                 stdout=subprocess.DEVNULL, stderr=open(self.tmp / f"pilot{i}.err", "w"), env=env)
            self.pilots.append((p, work, trace, log))

    def matches(self):
        return sum(1 for r in read_jsonl(self.record)
                   if r.get("method") == "requestJob" and r.get("matcher", {}).get("outcome") == "match"
                   and r["matcher"]["delivered"])

    def run(self, slots):
        """Until every slot holds a job (or the deadline), then a short tail; returns when it stopped."""
        deadline = time.time() + self.a.max_wait_s
        while time.time() < deadline:
            if self.matches() >= slots:
                break
            dead = [i for i, (p, *_) in enumerate(self.pilots) if p.poll() is not None]
            if dead:
                tail = (self.tmp / f"pilot{dead[0]}.err").read_text().splitlines()[-6:]
                raise CheckError(f"pilot {dead[0]} ended during the fill (exit {self.pilots[dead[0]][0].returncode}):"
                                 "\n" + "\n".join(tail))
            time.sleep(0.1)
        # Past the fill: a full pilot must not ask again.
        time.sleep(self.a.tail_s)
        return time.time()

    def stop(self):
        """SIGTERM to every pilot (each stops its payloads and reports them), then no process of
        this run may be left. Returns the problems found."""
        problems = []
        for p, *_ in self.pilots:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        end = time.monotonic() + 60
        for i, (p, work, _, _) in enumerate(self.pilots):
            try:
                p.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                problems.append(f"pilot {i} did not end within 60 s of SIGTERM")
                for d in [p.pid, *descendants(p.pid)]:
                    try:
                        os.kill(d, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                p.wait()
            if p.returncode != 0:
                problems.append(f"pilot {i} exited {p.returncode} after SIGTERM")
        time.sleep(0.2)
        reap()
        strays = [(pid, cmd) for pid, cmd in processes_under(self.tmp)
                  if self.server is None or pid != self.server.pid]
        strays += [(pid, "descendant") for pid in descendants(os.getpid())
                   if (self.server is None or pid != self.server.pid) and pid not in dict(strays)]
        for pid, cmd in strays:
            problems.append(f"stray process {pid} after the pilots ended: {cmd}")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return problems

    def stop_server(self):
        if self.server and self.server.poll() is None:
            self.server.terminate()
            self.server.wait()
        reap()

    def kill_everything(self):
        """The last resort on an error: nothing of this run may outlive it."""
        for p, *_ in self.pilots:
            for d in [p.pid, *descendants(p.pid)]:
                try:
                    os.kill(d, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.stop_server()
        for pid, _ in processes_under(self.tmp):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        reap()

    def ready_times(self):
        """Each pilot's end of start-up (its trace's last start-up step), when its pacing starts:
        the simulator's pilot start."""
        out = []
        for i, (_, _, trace, _) in enumerate(self.pilots):
            run = [json.loads(x)["phases"] for x in (trace.read_text().splitlines() if trace.exists() else [])
                   if json.loads(x).get("process") == "run"]
            ph = run[0] if run else {}
            step = ph.get("agent.recovery") or ph.get("startup.job_source") or ph.get("main")
            if not step:
                raise CheckError(f"pilot {i} wrote no start-up phases to {trace}")
            out.append(step["first_end_ns"] / 1e9)
        return out

    def pilot_counts(self):
        """(failed requests, jobs received) as the pilots logged them: the clients' side of what
        the server records as undelivered and delivered."""
        failed = received = 0
        for _, _, _, log in self.pilots:
            for line in (log.read_text().splitlines() if log.exists() else []):
                try:
                    x = json.loads(line)
                except ValueError:
                    continue
                failed += x.get("msg") == "job request failed"
                received += x.get("msg") == "job matched" and x.get("component") == "agent"
        return failed, received


def measure(records, t0, end, slots, workers, capacity, timeout_s, step):
    """The simulator's summary figures, from the fake server's Matcher records."""
    calls = [r["matcher"] for r in records if r.get("method") == "requestJob" and "matcher" in r]
    matched = sorted(c["end"] - t0 for c in calls if c["outcome"] == "match" and c["delivered"])

    def fill(frac):
        k = math.ceil(frac * slots)
        return matched[k - 1] if len(matched) >= k else None

    # From the client's side: the time-out when it gave up, else arrival to answer.
    lat = [timeout_s if not c["delivered"] else c["end"] - c["arrival"] for c in calls]
    duration = end - t0
    series = []
    for k in range(int(math.ceil(duration / step))):
        lo, hi = t0 + k * step, t0 + (k + 1) * step
        busy = sum(1 for m in matched if m <= k * step)
        offered = sum(1 for c in calls if lo <= c["arrival"] < hi) / step
        served = sum(1 for c in calls if lo <= c["end"] < hi) / step
        work = sum(max(0.0, min(hi, c["end"]) - max(lo, c["start"])) for c in calls)
        series.append({"t": k * step, "busy_slots": busy, "offered_per_s": offered, "served_per_s": served,
                       "utilisation": work / (workers * step)})
    t99 = fill(0.99)
    # Utilisation while the fill was on: the Matcher's work from the first arrival to the 99 % time.
    fill_end = t0 + (t99 if t99 is not None else duration)
    first = min((c["arrival"] for c in calls), default=t0)
    work = sum(max(0.0, min(fill_end, c["end"]) - max(first, c["start"])) for c in calls)
    timeouts = sum(1 for c in calls if not c["delivered"])
    return {"time_to_50_s": fill(0.5), "time_to_90_s": fill(0.9), "time_to_99_s": t99,
            "latency_p50_s": percentile(lat, 0.5), "latency_p99_s": percentile(lat, 0.99),
            # a match is a job a pilot received, as the simulator counts them; lost ones apart
            "requests": len(calls), "matches": len(matched),
            "requests_per_match": len(calls) / len(matched) if matched else None,
            "timeouts": timeouts,
            "lost_to_timeouts": sum(1 for c in calls if c["outcome"] == "match" and not c["delivered"]),
            "fill_utilisation": work / (workers * (fill_end - first)) if fill_end > first else None,
            "served_per_s_fill": (len(matched[:math.ceil(0.99 * slots)]) / (fill_end - first)
                                  if fill_end > first else None),
            "max_offered_per_s": max((s["offered_per_s"] for s in series), default=0.0),
            "capacity_per_s": capacity, "series": series}


def simulated_extras(ours, slots, step):
    """The figures the simulator's summary does not hold directly, over the same span as measure()
    takes them: from the first request to the 99 % time, bins weighted by their overlap with it."""
    series = ours.get("series", [])
    t99 = ours.get("time_to_99_s")
    first = next((s["t"] for s in series if s["offered_per_s"] > 0), 0.0)
    end = t99 if t99 is not None else (series[-1]["t"] + step if series else 0.0)
    weights = [(s, max(0.0, min(s["t"] + step, end) - max(s["t"], first))) for s in series]
    span = sum(w for _, w in weights)
    return {"fill_utilisation": sum(s["utilisation"] * w for s, w in weights) / span if span else None,
            "served_per_s_fill": math.ceil(0.99 * slots) / (end - first) if t99 is not None and end > first else None,
            "max_offered_per_s": max((s["offered_per_s"] for s in series), default=0.0)}


# ---------------------------------------------------------------- the simulation


def pacing_flags(a, cfg):
    """The simulator's flags for our pilot's pacing, each from the pilot's own configuration
    (`--flag-name` is the pilot's pacing.flag_name), and the flags the pilot's configuration does
    not show: the simulation takes those at its defaults, PacingLimits' defaults, which the pilot
    runs with too when it is built from the same source."""
    r = subprocess.run([a.farmsim, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    flags = [line.split()[0] for line in r.stdout.splitlines()
             if line.strip().startswith("--") and len(line.split()) > 2 and "ours:" in line]
    pacing = cfg.get("pacing", {})
    argv, unknown = [], []
    for flag in flags:
        key = flag[2:].replace("-", "_")
        if key in pacing:
            argv += [flag, f"{pacing[key]:g}"]
        else:
            unknown.append(flag)
    argv += ["--polling-s", f"{cfg['polling_s']:g}", "--stop-after-failed-matches",
             str(cfg["stop_after_failed_matches"]), "--max-host-failures", str(cfg["max_host_failures"])]
    return argv, unknown


def simulate(a, cfg, start_within, duration, out):
    """pilot-farmsim on this farm for --sim-seeds seeds: [(argv, report)], the first with --seed."""
    p = cfg.get("pacing", {})
    if not p:
        raise CheckError("the pilot's configuration has no pacing.* keys: it predates issue 18's request pacing")
    if p.get("kind") != "jitter":
        raise CheckError(f"pacing.kind {p.get('kind')!r}: the check compares the simulator's 'ours' (jitter)")
    pacing, unknown = pacing_flags(a, cfg)
    if unknown:
        print(f"  note: the pilot's configuration shows no {', '.join(f[2:].replace('-', '_') for f in unknown)}: "
              f"the simulation takes its defaults for {' '.join(unknown)}; a pilot built before the simulator "
              "may not pace as it does", flush=True)
    runs = []
    for seed in range(a.seed, a.seed + a.sim_seeds):
        argv = [a.farmsim, "--nodes", str(a.nodes), "--slots-per-node", str(a.slots),
                "--matcher-workers", str(a.matcher_workers), "--service-s", f"{a.service_s:g}",
                "--service-dist", a.service_dist, "--client-timeout-s", f"{cfg['rpc_timeout_s']:g}",
                "--start-within-s", f"{max(start_within, 0.001):.3f}", "--job-s", f"{a.job_s:g}-{a.job_s:g}",
                "--backlog", str(a.backlog), "--duration-s", f"{max(duration, 1.0):.3f}", "--step-s", str(a.step_s),
                "--policy", "ours", *pacing, "--seed", str(seed), "--json", str(out)]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise CheckError(f"{' '.join(argv)}\nexited {r.returncode}: {r.stderr.strip()}")
        runs.append((argv, json.loads(Path(out).read_text())))
    return runs, unknown


def aggregate(runs, slots, step):
    """Over the seeds: each figure's median and its range. A fill level a seed never reached counts
    as later than any reached (None sorts last), so a median or bound may be "never"."""
    per_seed = [dict(rep["policies"]["ours"], **simulated_extras(rep["policies"]["ours"], slots, step))
                for _, rep in runs]
    key = lambda v: (v is None, v if v is not None else 0)
    out, ranges = dict(per_seed[0]), {}
    for figure in list(TOLERANCES) + list(INFORMATIVE):
        values = sorted((x.get(figure) for x in per_seed), key=key)
        out[figure] = values[(len(values) - 1) // 2]
        ranges[figure] = [values[0], values[-1]]
    out["seeds"] = len(per_seed)
    out["range"] = ranges
    return out


# ---------------------------------------------------------------- the comparison


def compare(measured, simulated):
    """Measured against the simulated median; within: inside the seeds' range widened by the
    figure's tolerance (the range is the model's own randomness, the tolerance what it leaves out)."""
    rows = []
    for key in list(TOLERANCES) + list(INFORMATIVE):
        m, s = measured.get(key), simulated.get(key)
        lo, hi = simulated.get("range", {}).get(key, [s, s])
        row = {"figure": key, "measured": m, "simulated": s, "simulated_range": [lo, hi], "ratio": None,
               "tolerance": None, "within": None}
        if isinstance(m, (int, float)) and isinstance(s, (int, float)):
            row["ratio"] = m / s if s else (1.0 if m == 0 else None)
        if key in TOLERANCES:
            rel, floor = TOLERANCES[key]
            row["tolerance"] = f"{rel * 100:.0f} % or {floor:g}"
            if m is None:
                row["within"] = hi is None  # never reached, as some seed
            elif lo is None:
                row["within"] = False  # reached here, in no seed
            else:
                row["within"] = lo - max(rel * abs(lo), floor) <= m and (
                    hi is None or m <= hi + max(rel * abs(hi), floor))
        rows.append(row)
    return rows


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, int):
        return str(v)
    return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.0f}"


def series_table(measured, simulated, duration):
    """Busy slots and request rates over time, real next to the first seed's simulation."""
    sim = {round(x["t"], 6): x for x in simulated.get("series", [])}
    lines = [f"{'t (s)':>6} {'busy real/sim':>14} {'offered/s real/sim':>19} {'served/s real/sim':>18} "
             f"{'utilisation real/sim':>21}"]
    for x in measured["series"]:
        if x["t"] > duration:
            break
        y = sim.get(round(x["t"], 6), {})
        pair = lambda k, f: f"{f(x[k])}/{f(y[k]) if k in y else '-'}"
        lines.append(f"{x['t']:>6g} {pair('busy_slots', str):>14} {pair('offered_per_s', lambda v: f'{v:.1f}'):>19} "
                     f"{pair('served_per_s', lambda v: f'{v:.1f}'):>18} "
                     f"{pair('utilisation', lambda v: f'{v:.2f}'):>21}")
    return "\n".join(lines)


def table(rows, seeds):
    lines = [f"{'figure':<20} {'measured':>10} {'simulated':>10} {f'(range of {seeds} seeds)':>22} {'ratio':>7}  "
             f"{'tolerance':<12} within"]
    for r in rows:
        lo, hi = r["simulated_range"]
        span = f"{fmt(lo)} - {fmt(hi)}" if lo is not None or hi is not None else "-"
        lines.append(f"{r['figure']:<20} {fmt(r['measured']):>10} {fmt(r['simulated']):>10} {span:>22} "
                     f"{fmt(r['ratio']):>7}  {r['tolerance'] or '(shown)':<12} "
                     f"{fmt(r['within']) if r['within'] is not None else ''}")
    return "\n".join(lines)


SCENARIOS = ("fill", "timeouts")


def scenario_args(a, name, slots, capacity):
    """The run's settings: `fill`, the capacity-bound fill with time-outs out of reach; `timeouts`,
    the same start with the pilots' time-out at half the first burst's queue wait, so the late part
    of the burst times out, its matched jobs are lost and its pilots back off and ask again (the
    backlog is 3 x the slots so the lost jobs do not empty it)."""
    r = copy.copy(a)
    r.scenario = name
    if name == "timeouts":
        r.rpc_timeout_s = a.overload_timeout_s or round(max(0.5, a.nodes / capacity / 2), 1)
        r.backlog = a.backlog or 3 * slots
    else:
        r.backlog = a.backlog or slots + slots // 2
    if r.backlog < slots:
        raise CheckError("--backlog must be at least the slots")
    return r


def run_scenario(a, name, slots, capacity, bound):
    r = scenario_args(a, name, slots, capacity)
    print(f"{name}: {a.nodes} nodes x {a.slots} slots = {slots}, Matcher {a.matcher_workers} workers x "
          f"{a.service_s:g} s ({capacity:g}/s), fill bound {bound:.1f} s, backlog {r.backlog} x sleep {a.job_s:g}, "
          f"rpc_timeout_s {r.rpc_timeout_s:g}, load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}",
          flush=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"pilot-farm-check-{name}."))
    farm = RealFarm(r, tmp)
    problems = []
    try:
        farm.start_server()
        cfg = farm.effective_config()
        farm.start_pilots()
        end = farm.run(slots)
        problems += farm.stop()
        farm.stop_server()
        records = read_jsonl(farm.record)
        ready = farm.ready_times()
        t0, window = min(ready), max(ready) - min(ready)
        measured = measure(records, t0, end, slots, a.matcher_workers, capacity, cfg["rpc_timeout_s"], a.step_s)
        failed, received = farm.pilot_counts()
        measured["pilot_logged_request_failures"], measured["pilot_logged_jobs_received"] = failed, received
        if (failed, received) != (measured["timeouts"], measured["matches"]):
            # the server's "delivered" is read off how the client closed; the pilots know
            print(f"  note: the server saw {measured['timeouts']} time-outs and {measured['matches']} delivered "
                  f"matches, the pilots logged {failed} failed requests and {received} jobs", flush=True)
        measured["start_window_s"] = window
        measured["duration_s"] = end - t0
        print(f"  real: start window {window:.2f} s, {measured['requests']} requests, run {end - t0:.1f} s; "
              + ("pilots stopped, no process left" if not problems else "; ".join(problems)), flush=True)
        if a.measure_only:
            print(json.dumps({k: v for k, v in measured.items() if k != "series"}, indent=2))
            print("\n".join(f"  t={x['t']:>4} busy {x['busy_slots']:>4} offered {x['offered_per_s']:5.1f}/s served "
                            f"{x['served_per_s']:5.1f}/s utilisation {x['utilisation']:.2f}" for x in measured["series"]))
            argv, simulated, unknown = None, {}, []
        else:
            # As long as the real run could have lasted: a fill the simulator completes later than
            # the real one is then seen (not cut off), and past the fill neither side asks.
            sims, unknown = simulate(r, cfg, window, a.max_wait_s + a.tail_s, tmp / "sim.json")
            argv = sims[0][0]
            simulated = aggregate(sims, slots, a.step_s)
    except (CheckError, subprocess.CalledProcessError, OSError, ValueError) as e:
        farm.kill_everything()
        raise CheckError(f"{name}: {e}")
    finally:
        if a.keep:
            shutil.copytree(tmp, Path(a.keep) / name, dirs_exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
    rows = compare(measured, simulated)
    if not a.measure_only:
        print(series_table(measured, simulated, measured["duration_s"]))
        print(table(rows, simulated["seeds"]))
        print(f"  simulated: {' '.join(argv[1:])} (and seeds to {a.seed + a.sim_seeds - 1})", flush=True)
    return {"parameters": {"nodes": a.nodes, "slots_per_node": a.slots, "slots": slots,
                           "matcher_workers": a.matcher_workers, "service_s": a.service_s,
                           "service_dist": a.service_dist, "capacity_per_s": capacity, "fill_bound_s": bound,
                           "backlog": r.backlog, "job_s": a.job_s, "rpc_timeout_s": cfg["rpc_timeout_s"],
                           "pacing": cfg.get("pacing"), "polling_s": cfg.get("polling_s"), "seed": a.seed,
                           "start_window_s": measured["start_window_s"], "duration_s": measured["duration_s"]},
            "measured": measured, "simulated": simulated, "simulator_command": argv,
            "simulator_defaults_taken": unknown, "comparison": rows,
            "within_tolerance": all(x["within"] for x in rows if x["within"] is not None), "problems": problems}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small farm (8 nodes x 4 slots) for ci/bench --quick")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    ap.add_argument("--pilot", default=os.environ.get("PILOT_BIN", str(ROOT / "build/pilot/cli/pilot")))
    ap.add_argument("--farmsim", help="pilot-farmsim (default: next to the pilot in its build tree)")
    ap.add_argument("--nodes", type=int, help="pilots, one per node (default 24, --quick 8)")
    ap.add_argument("--slots", type=int, default=4, help="slots (processors) per node")
    ap.add_argument("--matcher-workers", type=int, default=2)
    ap.add_argument("--service-s", type=float, default=0.25)
    ap.add_argument("--service-dist", default="const", choices=["const", "exp"])
    ap.add_argument("--job-s", type=float, default=300.0, help="the jobs' sleep; no job may end during the run")
    ap.add_argument("--backlog", type=int, help="jobs waiting (default: fill 1.5 x the slots, timeouts 3 x)")
    ap.add_argument("--rpc-timeout-s", type=float, default=30.0, help="the pilots' rpc_timeout_s in the fill run")
    ap.add_argument("--overload-timeout-s", type=float,
                    help="the pilots' rpc_timeout_s in the timeouts run (default: nodes / capacity / 2)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="more pilot configuration (pacing.* among them), for the simulator too")
    ap.add_argument("--max-wait-s", type=float, help="give up on the fill after this (default: 4 x the bound + 20)")
    ap.add_argument("--tail-s", type=float, default=2.0, help="seconds kept after the fill")
    ap.add_argument("--step-s", type=int, default=1, help="the series' step")
    ap.add_argument("--seed", type=int, default=1, help="the fake Matcher's and the first simulation's seed")
    ap.add_argument("--sim-seeds", type=int, default=10, help="simulations, seeds from --seed on")
    ap.add_argument("--json", help="write both sides and the comparison here")
    ap.add_argument("--keep", help="keep each run's files (records, pilot logs) in DIR/<scenario>")
    ap.add_argument("--measure-only", action="store_true", help="the real farm only, no simulation")
    a = ap.parse_args()
    a.nodes = a.nodes or (8 if a.quick else 24)
    slots = a.nodes * a.slots
    capacity = a.matcher_workers / a.service_s
    bound = slots / capacity
    a.max_wait_s = a.max_wait_s or 4 * bound + 20
    a.farmsim = a.farmsim or default_farmsim(a.pilot)
    scenarios = a.scenarios.split(",")
    for name in scenarios:
        if name not in SCENARIOS:
            sys.exit(f"farm_check: unknown scenario '{name}' (scenarios: {', '.join(SCENARIOS)})")
    if a.job_s <= a.max_wait_s + a.tail_s + 10:
        sys.exit(f"farm_check: --job-s {a.job_s:g} would let jobs end during the run (max {a.max_wait_s:g} s)")
    for b, what in ((a.pilot, "pilot"), *(() if a.measure_only else ((a.farmsim, "pilot-farmsim"),))):
        if not os.access(b, os.X_OK):
            sys.exit(f"farm_check: {what} {b} is not built")
    # Payloads orphaned by a pilot that died come to us, so the stray check finds them.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    r = subprocess.run([a.pilot, "version", "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    commit = json.loads(r.stdout).get("git_commit", "?") if r.returncode == 0 else "?"
    print(f"farm_check: pilot {a.pilot} (commit {commit}), simulator {a.farmsim}", flush=True)
    runs = {}
    try:
        for name in scenarios:
            runs[name] = run_scenario(a, name, slots, capacity, bound)
    except CheckError as e:
        sys.exit(f"farm_check: {e}")
    problems = [f"{name}: {p}" for name, r in runs.items() for p in r["problems"]]
    within = all(r["within_tolerance"] for r in runs.values())
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({"pilot": a.pilot, "pilot_commit": commit, "farmsim": a.farmsim,
                                            "runs": runs, "within_tolerance": within, "problems": problems,
                                            "tolerances": TOLERANCES}, indent=2) + "\n")
        print(f"JSON: {a.json}")
    if problems:
        sys.exit("farm_check: " + "; ".join(problems))
    if not a.measure_only:
        print("farm_check: " + ("every figure within its tolerance" if within else "some figure OUTSIDE its tolerance"))
    sys.exit(0 if within or a.measure_only else 3)


if __name__ == "__main__":
    main()
