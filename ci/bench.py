#!/usr/bin/env python3
"""Every benchmark of the pilot, each next to a reference measured in the same run; prints one
table and writes one JSON file. Run through `ci/bench` (see there and README "Performance").

Timings repeat and report the median with the min-max spread; references are interleaved with
the measurements they are compared with, so both see the same machine load. The load average
before and after is printed and recorded: this machine is shared.

Python 3 standard library only.
"""

import argparse
import ctypes
import datetime
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- helpers


def loadavg():
    return Path("/proc/loadavg").read_text().split()[:3]


def wait_for(cond, what, timeout=60.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.005)
    raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}")


def checkpoint_fields(checkpoint):
    """key=value lines of an MC checkpoint file ({} while it does not exist)."""
    try:
        return dict(line.split("=", 1) for line in Path(checkpoint).read_text().splitlines() if "=" in line)
    except OSError:
        return {}


def events_in(checkpoint):
    try:
        return int(checkpoint_fields(checkpoint).get("events", 0))
    except ValueError:
        return 0


def iso_time(text):
    """Seconds since the epoch of a UTC ISO 8601 time with microseconds (the queue's records)."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp()


def stamp_ns(path):
    text = Path(path).read_text().strip()
    if not text.isdigit():
        raise BenchError(f"{path}: not a nanosecond stamp: {text!r}")
    return int(text)


def summary(samples, unit, value=None):
    """The JSON of one series: median (or an explicit headline value), min, max and the samples."""
    s = sorted(samples)
    return {"unit": unit, "value": statistics.median(s) if value is None else value, "min": s[0], "max": s[-1],
            "runs": len(s), "samples": samples}


def metric(what, m, ref_what, ref, note=""):
    m = dict(m, what=what)
    m["reference"] = dict(ref, what=ref_what)
    if note:
        m["note"] = note
    return m


def read_trace(path):
    """What each process appended to PILOT_TRACE (core/trace.hpp): [(process, {phase: totals})]."""
    if not path.exists():
        return []
    return [(x["process"], x["phases"]) for x in map(json.loads, path.read_text().splitlines())]


def phase_table(lines, jobs, wall_s):
    """Per phase, over all the run's processes: how often and how long per job, and the share of
    the run's wall time (phases nest and, with several slots, overlap: shares do not add up)."""
    rows = {}
    for process, phases in lines:
        for name, t in phases.items():
            r = rows.setdefault(name, {"process": set(), "n": 0, "ns": 0})
            r["process"].add(process)
            r["n"] += t["n"]
            r["ns"] += t["ns"]
    return {name: {"process": ",".join(sorted(r["process"])), "per_job": r["n"] / jobs,
                   "ms_per_job": r["ns"] / 1e6 / jobs, "share": r["ns"] / 1e9 / wall_s}
            for name, r in sorted(rows.items(), key=lambda kv: -kv[1]["ns"])}


def first_phase(phases, name):
    t = phases.get(name)
    return (t["first_ns"], t["first_end_ns"]) if t else None


def with_env(**kv):
    env = dict(os.environ)
    env.update({k: str(v) for k, v in kv.items()})
    return env


def wall_ms(argv, env=None):
    t0 = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    t1 = time.perf_counter()
    if r.returncode != 0:
        raise BenchError(f"{' '.join(map(str, argv))} exited {r.returncode}: {r.stderr.decode()[-2000:]}")
    return (t1 - t0) * 1e3


def python_pass_ms():
    return wall_ms(["python3", "-c", "pass"])


def task_cpu_s(pid):
    """CPU time of every live thread of `pid`, in seconds (schedstat: ns, finer than stat's ticks)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total / 1e9


def vm_hwm_kb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def max_rss_kb(argv):
    """The peak RSS of a command run to its end, as GNU time reports it. Not wait4 from here: a
    child's ru_maxrss starts from the resident set of the process that forked it (this Python, 18
    MB), which exec does not reset."""
    with tempfile.NamedTemporaryFile("r") as out:
        r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise BenchError(f"{argv[0]} exited {r.returncode}: {r.stderr.decode()[-2000:]}")
        return int(out.read().split()[-1])


def smaps_rollup_kb(pid):
    """The kernel's memory accounting of one process (/proc/<pid>/smaps_rollup), in kB; {} when
    it is gone."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, value = line.split(":", 1)
            out[name] = int(value.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return out


def memory_parts(pilot_pid):
    """What the pilot's and its keepers' resident sets hold (MB): the binary's clean file pages
    (shared by all of them) against each one's own dirty memory."""
    pilot = smaps_rollup_kb(pilot_pid)
    ks = [m for m in (smaps_rollup_kb(k) for k in keepers(pilot_pid)) if m]
    if not pilot or not ks:
        return None
    mb = lambda kb: kb / 1024
    return {"keepers": len(ks),
            "pilot RSS": mb(pilot["Rss"]),
            "pilot RSS: clean file pages (the binary's code and constants)":
                mb(pilot["Shared_Clean"] + pilot["Private_Clean"]),
            "pilot RSS: of those, shared with its keepers": mb(pilot["Shared_Clean"]),
            "pilot RSS: its own memory (private dirty: heap, stacks, data)": mb(pilot["Private_Dirty"]),
            "pilot PSS": mb(pilot["Pss"]),
            "keeper RSS (mean)": mb(sum(k["Rss"] for k in ks) / len(ks)),
            "keeper own memory (private dirty, mean)": mb(sum(k["Private_Dirty"] for k in ks) / len(ks)),
            "keeper PSS (mean)": mb(sum(k["Pss"] for k in ks) / len(ks)),
            "pilot and keepers: PSS in all": mb(pilot["Pss"] + sum(k["Pss"] for k in ks)),
            "pilot and keepers: own memory in all": mb(pilot["Private_Dirty"] + sum(k["Private_Dirty"] for k in ks))}


def stat_times(pid):
    """(own CPU s, reaped children's CPU s) of a process, readable while it is a zombie."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return (utime + stime) / TICK, (cutime + cstime) / TICK


def reap_all(pilot_pid):
    """Reaps every child (we are a child subreaper, so the pilot's orphans come here too). Returns
    the pilot's own CPU s and reaped children's CPU s (ticks, from the zombie's /proc/<pid>/stat)
    and {pid: (command name, CPU s from wait4)} of the other processes."""
    own = below = 0.0
    orphans = {}
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            return own, below, orphans
        if info is None:
            continue
        comm = Path(f"/proc/{info.si_pid}/comm").read_text().strip()
        self_s, children_s = stat_times(info.si_pid)
        _, _, ru = os.wait4(info.si_pid, 0)
        if info.si_pid == pilot_pid:
            own, below = self_s, children_s
        else:
            orphans[info.si_pid] = (comm, ru.ru_utime + ru.ru_stime)


def reap_strays():
    """Reaps orphans that ended earlier (payloads of a killed pilot came to us as the subreaper),
    so the next reap_all() counts only its own run."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def descendants(pid):
    kids = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for k in kids.get(todo.pop(), []):
            out.append(k)
            todo.append(k)
    return out


def keepers(pid):
    """The payload keepers (`pilot keep ...`) below `pid`."""
    out = []
    for k in descendants(pid):
        try:
            argv = Path(f"/proc/{k}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[1] == b"keep":
            out.append(k)
    return out


# The start-up's steps in order, as the pilot's trace names them (agent/startup.cpp).
STARTUP_STEPS = ("startup.configuration", "startup.node_check", "startup.credentials", "startup.dirac_runtime",
                 "startup.platform", "startup.budget", "startup.pilot_reference", "startup.resource",
                 "startup.job_source", "agent.recovery")


def startup_parts(phases, t0, received):
    """One run's time from exec to the first Matcher request received, in consecutive parts (ms):
    each gap between two traced steps is its own part, so the parts add up to the whole."""
    parts, at = {}, t0 * 1e9

    def until(name, end_ns):
        nonlocal at
        parts[name] = (end_ns - at) / 1e6
        at = end_ns

    main = first_phase(phases, "main")
    until("exec to main()", main[0])
    for step in STARTUP_STEPS:
        span = first_phase(phases, step)
        if span:
            until(f"before {step}", span[0])
            until(step, span[1])
    request = first_phase(phases, "agent.request")
    until("to the first request", request[0])
    for step in ("tls.context", "tls.connect", "tls.handshake", "diset.proposal"):
        span = first_phase(phases, step)
        if span and span[0] >= request[0]:
            until(f"before {step}", span[0])
            until(step, span[1])
    until("the arguments to the server's receipt", received * 1e9)
    return parts


class Bench:
    def __init__(self, args, tmp):
        self.a = args
        self.tmp = tmp
        self.pilot = str(Path(args.pilot).resolve())
        self.toymc = str(Path(args.toymc).resolve())
        self.rng = random.Random(args.seed)
        self.n = 0
        self.breakdowns = {}  # phase breakdowns from the pilot's trace (core/trace.hpp)

    def path(self, name):
        self.n += 1
        return self.tmp / f"{name}{self.n}"

    def submit(self, queue, jdl):
        f = self.path("job").with_suffix(".jdl")
        f.write_text(jdl)
        subprocess.run([self.pilot, "queue", "submit", "--queue", str(queue), str(f)], check=True,
                       stdout=subprocess.DEVNULL)

    def run_argv(self, queue, work, slots, extra=()):
        return [self.pilot, "--log-level", "warn", "run", "--queue", str(queue), "--workdir", str(work), "--json",
                "--set", f"processors={slots}", "--set", "polling_s=0.1", "--set", "stop_after_failed_matches=1",
                "--set", "cpu_power_hs06=10", "--set", "min_free_disk_mb=10", "--set", "grace_s=10", *extra]

    # ------------------------------------------------------------ start-up

    def startup(self):
        pki = self.tmp / "pki"
        subprocess.run(["bash", str(ROOT / "tests/fake_dirac/make-test-pki.sh"), str(pki)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ports, record = self.tmp / "ports.json", self.tmp / "calls.jsonl"
        server = subprocess.Popen(["python3", str(ROOT / "tests/fake_dirac/fake_dirac.py"), "--pki", str(pki),
                                   "--port-file", str(ports), "--record", str(record), "--jobs", "0"])
        try:
            wait_for(ports.exists, "the fake DIRAC server's ports", 30)
            p = json.loads(ports.read_text())
            base = ["--set", f"services.matcher=[\"dips://localhost:{p['diset']}/WorkloadManagement/Matcher\"]",
                    "--set", f"services.job_state_update=[\"https://localhost:{p['https']}/WorkloadManagement/"
                    "TornadoJobStateUpdate\"]",
                    "--set", "setup=Test-Setup", "--set", "vo=testvo", "--set", f"proxy={pki / 'proxy.pem'}",
                    "--set", f"cert_dir={pki / 'certificates'}", "--set", "site=DIRAC.Test.ch",
                    "--set", "stop_after_failed_matches=1", "--set", "polling_s=0.1", "--set", "cpu_power_hs06=10",
                    "--set", "wall_limit_s=100000", "--set", "min_free_disk_mb=10",
                    "--set", "min_proxy_lifetime_s=600", "--set", f"drain_file={self.tmp / 'no-drain'}"]
            pilot_ms, ref_ms, parts, rss_mb, ref_rss_mb = [], [], [], [], []
            for i in range(self.a.runs_startup + 1):  # the first run warms the caches, not counted
                seen = len(record.read_text().splitlines()) if record.exists() else 0
                work, trace = self.path("startup-work"), self.path("startup-trace")
                t0 = time.time()
                r = subprocess.run([self.pilot, "--log-level", "warn", "run", "--workdir", str(work), "--json", *base],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=with_env(PILOT_TRACE=trace))
                if r.returncode != 0:
                    raise BenchError(f"pilot run against the fake server exited {r.returncode}: {r.stderr.decode()}")
                new = [json.loads(x) for x in record.read_text().splitlines()[seen:]]
                req = [x for x in new if x.get("method") == "requestJob" and "received" in x]
                if not req:
                    raise BenchError(f"the fake server received no Matcher request from run {i}: {new}")
                if i:
                    pilot_ms.append((req[0]["received"] - t0) * 1e3)
                    ref_ms.append(python_pass_ms())
                    # Once more, untimed: its peak RSS with TLS to DIRAC set up and its calls made.
                    rss_mb.append(max_rss_kb([self.pilot, "--log-level", "warn", "run", "--workdir",
                                              str(self.path("startup-work")), *base]) / 1024)
                    ref_rss_mb.append(self.python_rss_kb() / 1024)
                    run = [ph for proc, ph in read_trace(trace) if proc == "run"]
                    if not run:
                        raise BenchError(f"pilot run {i} wrote no phase timings to {trace}")
                    parts.append(startup_parts(run[0], t0, req[0]["received"]))
        finally:
            server.terminate()
            server.wait()
        self.breakdowns["startup"] = {
            "what": "pilot run against the fake DIRAC server: exec to the Matcher request received, "
                    f"median of {len(parts)} runs",
            "parts": {k: statistics.median(p.get(k, 0.0) for p in parts) for k in dict.fromkeys(k for p in parts for k in p)}}
        return {"startup_to_first_request": metric(
            "pilot run: exec to the Matcher request received (fake DIRAC, TLS)", summary(pilot_ms, "ms"),
            "python3 -c pass", summary(ref_ms, "ms")),
            "peak_rss_dirac_tls": metric(
                "pilot run peak RSS (GNU time) against the fake DIRAC: TLS contexts, DISET and HTTPS calls, "
                "no job", summary(rss_mb, "MB"), "python3 -c pass peak RSS", summary(ref_rss_mb, "MB"))}

    # ------------------------------------------------------------ probes

    def probes(self):
        out = {}
        for name, argv in (("platform_json", [self.pilot, "platform", "--json"]),
                           ("features_json", [self.pilot, "features", "--json"])):
            wall_ms(argv)  # warm the page cache and the compiler-id cache
            p, r = [], []
            for _ in range(self.a.runs_probe):
                p.append(wall_ms(argv))
                r.append(python_pass_ms())
            out[name] = metric(f"pilot {argv[1]} --json wall time", summary(p, "ms"), "python3 -c pass",
                               summary(r, "ms"))
        return out

    # ------------------------------------------------------------ supervision cost

    def python_rss_kb(self):
        return max_rss_kb(["python3", "-c", "pass"])

    def supervision(self):
        out = {}
        hold = self.a.rss_hold
        keeper_rss, keeper_ref = [], []
        for n in (1, 8):
            rss, ref = [], []
            for _ in range(self.a.runs_rss):
                queue, work = self.path("rss-queue"), self.path("rss-work")
                for _ in range(n):
                    self.submit(queue, f'[ Executable = "/bin/sleep"; Arguments = "{hold}"; CPUTime = 100000; ]')
                p = subprocess.Popen(self.run_argv(queue, work, n), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE)
                peak = keeper_peak = 0
                parts = None
                while p.poll() is None:
                    peak = max(peak, vm_hwm_kb(p.pid) or 0)
                    # Once every payload runs (its keeper with it), what the memory holds.
                    if n > 1 and (not parts or parts["keepers"] < n):
                        parts = memory_parts(p.pid) or parts
                    if n == 1:
                        keeper_peak = max([keeper_peak] + [vm_hwm_kb(k) or 0 for k in keepers(p.pid)])
                    time.sleep(0.05)
                if p.returncode != 0:
                    raise BenchError(f"pilot run ({n} payloads) exited {p.returncode}: {p.stderr.read().decode()}")
                started = len(list(work.glob("job_*")))
                if started != n:
                    raise BenchError(f"pilot run with {n} slots ran {started} payloads, not {n}")
                if n > 1:
                    if not parts:
                        raise BenchError(f"no keeper seen below pilot run with {n} payloads")
                    self.breakdowns.setdefault("memory", {
                        "what": f"pilot run supervising {n} payloads (sleep), while all {n} ran: "
                                "smaps_rollup of the pilot and its keepers, MB",
                        "parts": parts})
                rss.append(peak / 1024)
                ref.append(self.python_rss_kb() / 1024)
                if n == 1:
                    if keeper_peak == 0:
                        raise BenchError("no payload keeper seen while the payload ran")
                    keeper_rss.append(keeper_peak / 1024)
                    keeper_ref.append(ref[-1])
            out[f"peak_rss_{n}_payload{'s' if n > 1 else ''}"] = metric(
                f"pilot run peak RSS (VmHWM) supervising {n} payload{'s' if n > 1 else ''}", summary(rss, "MB"),
                "python3 -c pass peak RSS", summary(ref, "MB"))
        out["keeper_peak_rss"] = metric(
            "payload keeper (pilot keep) peak RSS (VmHWM)", summary(keeper_rss, "MB"),
            "python3 -c pass peak RSS", summary(keeper_ref, "MB"))

        # CPU: one pilot supervising one idle payload with production sampling; windows of
        # `window` seconds after the payload started, extrapolated to one hour.
        window, count = self.a.cpu_window, self.a.cpu_windows
        queue, work = self.path("cpu-queue"), self.path("cpu-work")
        total = int(window * count + 10)
        self.submit(queue, f'[ Executable = "/bin/sleep"; Arguments = "{total}"; CPUTime = 100000; ]')
        p = subprocess.Popen(self.run_argv(queue, work, 1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # The reference: the least a Python watchdog does, one /proc read of the payload per 5 s.
        watch = ("import sys, time\nwhile True:\n    try: open(f'/proc/{sys.argv[1]}/stat').read()\n"
                 "    except OSError: pass\n    time.sleep(5)\n")
        ref_p = None
        try:
            wait_for(lambda: any(work.glob("job_*/job.json")), "the payload's start", 60)
            time.sleep(2)  # past the job's start-up
            ref_p = subprocess.Popen(["python3", "-c", watch, str(p.pid)])
            time.sleep(1)
            cpu, ref = [], []
            # The supervision is the pilot's and its payload's keeper's.
            supervising = [p.pid] + keepers(p.pid)
            a, ra = sum(task_cpu_s(x) for x in supervising), task_cpu_s(ref_p.pid)
            for _ in range(count):
                time.sleep(window)
                b, rb = sum(task_cpu_s(x) for x in supervising), task_cpu_s(ref_p.pid)
                cpu.append((b - a) * 3600 / window)
                ref.append((rb - ra) * 3600 / window)
                a, ra = b, rb
        finally:
            for proc in (p, ref_p):
                if proc:
                    for d in descendants(proc.pid):
                        os.kill(d, signal.SIGKILL)
                    proc.kill()
                    proc.wait()
        out["cpu_per_hour"] = metric(
            "pilot run and keeper CPU time per hour supervising 1 idle payload", summary(cpu, "s/h"),
            "python3 loop reading /proc every 5 s", summary(ref, "s/h"),
            f"extrapolated from {count} windows of {window:g} s (x {3600 / window:g})")
        return out

    # ------------------------------------------------------------ job throughput

    def throughput(self):
        out = {}
        n = self.a.jobs
        for slots in (1, 4):
            rate, ref, traces, cpu = [], [], [], []
            for _ in range(self.a.runs_jobs):
                queue, work, trace = self.path("tp-queue"), self.path("tp-work"), self.path("tp-trace")
                for _ in range(n):
                    self.submit(queue, '[ Executable = "/bin/true"; CPUTime = 100000; ]')
                before = os.times()
                t0 = time.time()
                r = subprocess.run(self.run_argv(queue, work, slots), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=with_env(PILOT_TRACE=trace))
                after = os.times()
                cpu.append((after.children_user + after.children_system - before.children_user
                            - before.children_system) * 1e3 / n)
                if r.returncode != 0:
                    raise BenchError(f"pilot run ({slots} slots) exited {r.returncode}: {r.stderr.decode()}")
                done = json.loads(r.stdout.decode().strip().splitlines()[-1])
                if done.get("jobs_succeeded") != n:
                    raise BenchError(f"pilot run ({slots} slots) succeeded {done.get('jobs_succeeded')} of {n} jobs")
                # Up to the last job filed: the agent's back-off once the queue is empty is not
                # per-job overhead.
                last = max(iso_time(json.loads(f.read_text())["finished"])
                           for f in (queue / "done").glob("*/status.json"))
                rate.append(n / (last - t0))
                traces.append((read_trace(trace), last - t0))
                t0 = time.perf_counter()
                for _ in range(n):
                    subprocess.run(["/bin/true"], check=True)
                ref.append(n / (time.perf_counter() - t0))
            lines = [x for t, _ in traces for x in t]
            wall = sum(w for _, w in traces)
            self.breakdowns[f"jobs_{slots}_slot{'s' if slots > 1 else ''}"] = {
                "what": f"local queue, /bin/true jobs, {slots} slot{'s' if slots > 1 else ''}: "
                        f"{n * len(traces)} jobs in {len(traces)} runs",
                "wall_ms_per_job": wall * 1e3 / (n * len(traces)),
                "cpu_ms_per_job": statistics.median(cpu),
                "phases": phase_table(lines, n * len(traces), wall)}
            out[f"jobs_per_s_{slots}_slot{'s' if slots > 1 else ''}"] = metric(
                f"local queue: {n} trivial jobs (/bin/true), {slots} slot{'s' if slots > 1 else ''}, exec to last job filed",
                summary(rate, "jobs/s"), "python3 subprocess.run(/bin/true) in a loop", summary(ref, "jobs/s"))
        return out

    # ------------------------------------------------------------ interrupts

    def one_exec_interrupt(self):
        job, stamp = self.path("int-job"), self.path("int-stamp")
        p = subprocess.Popen([self.pilot, "--log-level", "warn", "exec", "--workdir", str(job), "--events",
                              "100000000", "--poll", "5", "--", self.toymc, "--cpu-ms-per-event", "2",
                              "--stop-stamp", str(stamp)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: events_in(job / "pilot-checkpoint.txt") >= 1, "the payload's first event")
        time.sleep(self.rng.uniform(0, 0.5))
        t0 = time.time_ns()
        os.kill(p.pid, signal.SIGUSR1)
        _, err = p.communicate(timeout=60)
        if p.returncode != 128 + signal.SIGINT:
            raise BenchError(f"pilot exec exited {p.returncode}, not {128 + signal.SIGINT}:\n{err.decode()}")
        return (stamp_ns(stamp) - t0) / 1e6

    def one_run_reclaim(self):
        queue, work, stamp = self.path("rc-queue"), self.path("rc-work"), self.path("rc-stamp")
        self.submit(queue, f'[ Executable = "{self.toymc}"; Arguments = "--cpu-ms-per-event 2 --finalise-ms 1000 '
                           f'--stop-stamp {stamp}"; JobType = "MCSimulation"; CPUTime = 100000; CPUe = 1; '
                           f'MaxNumberOfEvents = 100000000; ]')
        p = subprocess.Popen(self.run_argv(queue, work, 1), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: any(events_in(d / "pilot-checkpoint.txt") >= 1 for d in work.glob("job_*")),
                 "the agent's payload's first event")
        time.sleep(self.rng.uniform(0, 0.5))
        t0 = time.time_ns()
        os.kill(p.pid, signal.SIGUSR1)
        _, err = p.communicate(timeout=60)
        t1 = time.time_ns()
        if p.returncode != 0:
            raise BenchError(f"pilot run exited {p.returncode}:\n{err.decode()}")
        return (stamp_ns(stamp) - t0) / 1e6, (t1 - t0) / 1e6

    def interrupts(self):
        exec_ms, ref_ms = [], []
        for _ in range(self.a.runs_interrupt):
            exec_ms.append(self.one_exec_interrupt())
            ref_ms.append(python_pass_ms())
        run = [self.one_run_reclaim() for _ in range(self.a.runs_reclaim)]
        return {
            "interrupt_latency_exec": metric(
                "pilot exec: SIGUSR1 to the payload's stop signal (toymc, 5 s sampling)", summary(exec_ms, "ms"),
                "python3 -c pass", summary(ref_ms, "ms")),
            "interrupt_latency_run": metric(
                "pilot run: SIGUSR1 to the payload's stop signal", summary([r[0] for r in run], "ms"),
                "python3 -c pass (above)", summary(ref_ms, "ms")),
            "reclaim_time": metric(
                "pilot run: SIGUSR1 to exit, payload needs 1 s to finalise", summary([r[1] for r in run], "ms"),
                "the payload's finalisation", summary([1000.0] * len(run), "ms"),
                "the reference is the 1 s the payload sleeps in finalise, the floor"),
        }

    # ------------------------------------------------------------ binary size

    def binary(self):
        stripped = self.tmp / "pilot.stripped"
        subprocess.run(["strip", "-o", str(stripped), self.pilot], check=True)
        mb = stripped.stat().st_size / 1e6
        full = Path(self.pilot).stat().st_size / 1e6
        return {"binary_size": metric("static pilot binary, stripped", summary([mb], "MB"),
                                      "the same binary unstripped", summary([full], "MB"))}

    # ------------------------------------------------------------ reclaim yield

    def yield_cycle(self, mode, delay, ms_per_event):
        """One slot's life: 4 MC jobs on 4 slots, reclaimed after `delay` s by SIGUSR1 (the pilot
        stops the payloads at an event boundary and reports) or by SIGKILL of the pilot and every
        process below it (a plain batch kill). Returns the kept events, the CPU time they took
        (toymc's cpu_ms of the checkpoint that holds them) and the payloads' whole CPU time."""
        reap_strays()
        queue, work = self.path(f"y-{mode}-queue"), self.path(f"y-{mode}-work")
        for _ in range(4):
            self.submit(queue, f'[ Executable = "{self.toymc}"; Arguments = "--cpu-ms-per-event {ms_per_event}"; '
                               f'JobType = "MCSimulation"; CPUTime = 10000000; CPUe = 1; '
                               f'MaxNumberOfEvents = 100000000; ]')
        p = subprocess.Popen(self.run_argv(queue, work, 4), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.monotonic()
        time.sleep(delay)
        if mode == "signal":
            os.kill(p.pid, signal.SIGUSR1)
        else:
            # Frozen first, so the tree cannot change while it is listed; then all killed at once.
            os.kill(p.pid, signal.SIGSTOP)
            for d in [p.pid, *descendants(p.pid)]:
                try:
                    os.kill(d, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        pilot_cpu, below_cpu, orphans = reap_all(p.pid)
        p.returncode = 0  # reaped above
        wall = time.monotonic() - t0
        jobs = []  # (reported events, checkpoint events, checkpoint cpu_ms, payload CPU s)
        if mode == "signal":
            for d in (queue / "done").iterdir():
                status = json.loads((d / "status.json").read_text())
                record = json.loads((d / "job.json").read_text())
                cp = record.get("extra", {}).get("mc", {}).get("checkpoint") or {}
                jobs.append((int(status.get("parameters", {}).get("NumberOfEvents", 0)), cp.get("events", 0),
                             float(cp.get("extras", {}).get("cpu_ms", 0)), record["cpu_seconds"]))
            if len(jobs) != 4:
                raise BenchError(f"signal reclaim: {len(jobs)} of 4 jobs reported in {queue / 'done'}")
            payload_cpu = sum(j[3] for j in jobs)
        else:
            # The killed pilot reported nothing (the queue still has the jobs as running); what a
            # pilot restarted on the same node recovers from the killed jobs' records is what is
            # kept. The payloads' CPU time is what wait4 gave us for them.
            if (queue / "done").exists() and any((queue / "done").iterdir()):
                raise BenchError(f"SIGKILL reclaim: jobs were reported before the kill: {queue / 'done'}")
            for job in work.glob("job_*"):
                r = subprocess.run([self.pilot, "--log-level", "warn", "exec", "--recover", "--workdir", str(job),
                                    "--json", "--grace", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                if r.returncode != 0:
                    raise BenchError(f"pilot exec --recover --workdir {job} exited {r.returncode}: {r.stderr.decode()}")
                rec = json.loads(r.stdout.decode().strip().splitlines()[-1])
                # The record's copy of the checkpoint can be older than the file the recovery read.
                cp = checkpoint_fields(job / "pilot-checkpoint.txt")
                jobs.append((int(rec.get("events") or 0), int(cp.get("events", 0)), float(cp.get("cpu_ms", 0)), 0.0))
            payload_cpu = sum(cpu for comm, cpu in orphans.values() if comm == "toymc")
            if len(jobs) != 4 or sum(1 for comm, _ in orphans.values() if comm == "toymc") != 4:
                raise BenchError(f"SIGKILL reclaim: {len(jobs)} job records, orphans {sorted(orphans.values())}")
        # The CPU time of the kept events: up to the checkpoint that made them safe. A report
        # beyond the last checkpoint (not expected from toymc) is counted at no CPU.
        kept_cpu = sum(cpu_ms / 1e3 if cp_events <= reported else cpu_ms / 1e3 * reported / max(cp_events, 1)
                       for reported, cp_events, cpu_ms, _ in jobs)
        return {"delay_s": round(delay, 3), "wall_s": round(wall, 3), "kept_events": sum(j[0] for j in jobs),
                "kept_cpu_s": round(kept_cpu, 6), "payload_cpu_s": round(payload_cpu, 6),
                "payload_cpu_ticks_s": round(below_cpu + sum(c for _, c in orphans.values()), 2),
                "pilot_cpu_s": round(pilot_cpu, 2)}

    def reclaim_yield(self):
        ms = self.a.ms_per_event
        lo, hi = self.a.yield_delay
        rng = random.Random(self.a.seed)  # its own: the same seed gives the same delays with --only
        delays, total = [], 0.0
        while total < self.a.yield_seconds:
            delays.append(rng.uniform(lo, hi))
            total += delays[-1]
        runs = {}
        for mode in ("signal", "sigkill"):
            cycles = [self.yield_cycle(mode, d, ms) for d in delays]
            kept = sum(c["kept_cpu_s"] for c in cycles)
            cpu = sum(c["payload_cpu_s"] for c in cycles)
            per = [100 * c["kept_cpu_s"] / c["payload_cpu_s"] for c in cycles if c["payload_cpu_s"] > 0]
            overall = 100 * kept / cpu if cpu > 0 else 0.0
            runs[mode] = dict(summary(per, "%", overall), kept_events=sum(c["kept_events"] for c in cycles),
                              kept_cpu_s=round(kept, 3), payload_cpu_s=round(cpu, 3), cycles=cycles)
        out = {"reclaim_yield": metric(
            f"reclaim yield: 4 slots of toymc ({ms:g} ms CPU/event), SIGUSR1 at {len(delays)} random times",
            runs["signal"], "the same with SIGKILL (batch kill), checkpoints recovered by a restarted pilot", runs["sigkill"],
            f"seed {self.a.seed}; delays {', '.join(f'{d:.2f}' for d in delays)} s; CPU time of the kept "
            "events / payload CPU time; value: all cycles, spread: per cycle")}
        return out


    # ------------------------------------------------------------ farm scale (issue 18)

    def farmsim(self, scenario):
        """pilot-farmsim's report of one preset with both policies; its plot next to the bench JSON."""
        out = Path(self.a.json).parent
        out.mkdir(parents=True, exist_ok=True)
        report, png = out / f"farm-{scenario}.json", out / f"farm-{scenario}.png"
        argv = [self.a.farmsim, "--scenario", scenario, "--policy", "both", "--seed", str(self.a.seed),
                *self.a.farm_scale, "--json", str(report), "--png", str(png)]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise BenchError(f"{' '.join(argv)} exited {r.returncode}: {r.stderr.strip()}")
        data = json.loads(report.read_text())
        data["command"] = argv
        return data

    def farm(self):
        if not os.access(self.a.farmsim, os.X_OK):
            raise BenchError(f"{self.a.farmsim} is not built (the pilot-farmsim target of the pilot's build tree)")
        out = {}
        for scenario, key in (("hlt", "farm_hlt"), ("hlt-outage", "farm_outage")):
            d = self.farmsim(scenario)
            ours, dirac = d["policies"]["ours"], d["policies"]["dirac"]
            duration = d["parameters"]["duration_s"]
            outage = d["parameters"]["outage"]
            bound = d["fill_bound_s"]
            where = (f"{d['parameters']['nodes']} nodes x {d['parameters']['slots_per_node']} slots, Matcher "
                     f"{d['parameters']['matcher_workers']} x {d['parameters']['service_s']:g} s "
                     f"({d['capacity_per_s']:g}/s), fill bound {bound:.0f} s, seed {self.a.seed}, plot "
                     f"{Path(self.a.json).parent / f'farm-{scenario}.png'}")

            def censored(pol, field, limit):
                """A figure the run never reached counts as the run's limit (noted)."""
                v = pol.get(field)
                return (limit, True) if v is None else (v, False)

            def fill(pol):
                t, cut = censored(pol, "time_to_99_s", duration)
                return t / bound, t, cut

            fo, fd = fill(ours), fill(dirac)
            note = (f"{where}; time to 99 % busy {fo[1]:.0f} s{' (not reached: the run)' if fo[2] else ''} ours, "
                    f"{fd[1]:.0f} s{' (not reached: the run)' if fd[2] else ''} DIRAC's")
            out[f"{key}_fill_99"] = metric(
                f"pilot-farmsim --scenario {scenario}: ours, time to 99 % busy / the fill bound",
                summary([fo[0]], "x bound"), "DIRAC's JobAgent pacing", summary([fd[0]], "x bound"), note)
            oo, od = (censored(p, "max_offered_ratio_10s", 0.0)[0] for p in (ours, dirac))
            out[f"{key}_offered"] = metric(
                f"pilot-farmsim --scenario {scenario}: ours, most requests/s offered in a 10 s window / capacity",
                summary([oo], "x cap"), "DIRAC's JobAgent pacing", summary([od], "x cap"), where)
            out[f"{key}_timeouts"] = metric(
                f"pilot-farmsim --scenario {scenario}: ours, requests timed out", summary([ours["timeouts"]], "reqs"),
                "DIRAC's JobAgent pacing", summary([dirac["timeouts"]], "reqs"),
                f"jobs lost to time-outs: ours {ours['lost_to_timeouts']}, DIRAC's {dirac['lost_to_timeouts']}; {where}")
            if outage:
                after = duration - (outage["start_s"] + outage["duration_s"])
                ro, rd = censored(ours, "recovery_s", after), censored(dirac, "recovery_s", after)
                out[f"{key}_recovery"] = metric(
                    f"pilot-farmsim --scenario {scenario}: ours, outage's end to the Matcher busy again (or no idle slot)",
                    summary([ro[0]], "s"), "DIRAC's JobAgent pacing", summary([rd[0]], "s"),
                    f"outage {outage['duration_s']:g} s at {outage['start_s']:g} s; "
                    + "".join(f"{who} never recovered (the run's rest, {after:.0f} s, shown); "
                              for who, r in (("ours", ro), ("DIRAC's", rd)) if r[1]) + where)

        # Real pilots against the fake server's limited Matcher, next to the simulator.
        report = Path(self.a.json).parent / "farm-check.json"
        argv = [sys.executable, str(ROOT / "ci/farm_check.py"), "--pilot", self.pilot, "--farmsim", self.a.farmsim,
                "--seed", str(self.a.seed), "--json", str(report), *(["--quick"] if self.a.quick else [])]
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode not in (0, 3):  # 3: it ran, some figure outside its tolerance (noted below)
            raise BenchError(f"ci/farm_check.py exited {r.returncode}:\n{r.stdout[-3000:]}")
        check = json.loads(report.read_text())
        for run, figure, name, unit, what in (
                ("fill", "time_to_50_s", "farm_check_fill_50", "s", "time to 50 % busy"),
                ("fill", "time_to_99_s", "farm_check_fill_99", "s", "time to 99 % busy"),
                ("fill", "latency_p50_s", "farm_check_latency_p50", "s", "Matcher request latency p50"),
                ("timeouts", "time_to_99_s", "farm_check_overload_fill_99", "s", "time to 99 % busy"),
                ("timeouts", "timeouts", "farm_check_overload_timeouts", "reqs", "requests timed out")):
            c = check["runs"][run]
            par, m, sim = c["parameters"], c["measured"], c["simulated"]
            row = next(x for x in c["comparison"] if x["figure"] == figure)
            lo, hi = row["simulated_range"]
            verdict = ("every figure within its tolerance" if c["within_tolerance"] else "OUTSIDE tolerance: " +
                       ", ".join(x["figure"] for x in c["comparison"] if x["within"] is False))
            # a fill level never reached counts as the run's length (noted)
            mv, sv = (v if v is not None else par["duration_s"] for v in (m[figure], sim[figure]))
            out[name] = metric(
                f"ci/farm_check.py {run}: real pilots, {what}", summary([mv], unit),
                f"pilot-farmsim, same farm and pacing (median of {sim['seeds']} seeds)", summary([sv], unit),
                f"this figure {'within' if row['within'] else 'OUTSIDE'} its tolerance ({row['tolerance']} beyond "
                f"the seeds' range {lo if lo is None else round(lo, 3)}-{hi if hi is None else round(hi, 3)})"
                + ("; not reached: the run's length" if m[figure] is None or sim[figure] is None else "")
                + f"; {par['nodes']} pilots x {par['slots_per_node']} slots against the fake Matcher "
                f"({par['matcher_workers']} x {par['service_s']:g} s, fill bound {par['fill_bound_s']:.1f} s), "
                f"rpc_timeout_s {par['rpc_timeout_s']:g}, start window {par['start_window_s']:.2f} s; "
                f"the run: {verdict}; {report}")
        return out


STEPS = ("startup", "probes", "supervision", "throughput", "interrupts", "binary", "reclaim_yield", "farm")


def fmt(v):
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.0f}"


def table(metrics):
    lines = [f"{'metric':<28} {'value':>9} {'spread (min-max)':>20} {'unit':<6} {'n':>3}  reference"]
    for key, m in metrics.items():
        r = m["reference"]
        lines.append(f"{key:<28} {fmt(m['value']):>9} {fmt(m['min']) + ' - ' + fmt(m['max']):>20} {m['unit']:<6} "
                     f"{m['runs']:>3}  {fmt(r['value'])} {r['unit']} [{fmt(r['min'])} - {fmt(r['max'])}] "
                     f"({r['what']})")
    lines.append("")
    for key, m in metrics.items():
        lines.append(f"{key}: {m['what']}" + (f"; {m['note']}" if m.get("note") else ""))
    return "\n".join(lines)


def breakdown_text(breakdowns):
    lines = []
    for key, b in breakdowns.items():
        lines.append(f"{key}: {b['what']}")
        if key == "memory":
            for part, v in b["parts"].items():
                lines.append(f"  {part:<64} {fmt(v):>7}{'' if part == 'keepers' else ' MB'}")
            continue
        if "parts" in b:
            total = sum(b["parts"].values())
            for part, ms in b["parts"].items():
                if not part.startswith("before ") or ms >= 0.05:  # the gaps between steps, when they count
                    lines.append(f"  {part:<40} {fmt(ms):>8} ms")
            lines.append(f"  {'total (the parts add up)':<40} {fmt(total):>8} ms")
            continue
        lines.append(f"  wall {fmt(b['wall_ms_per_job'])} ms per job, CPU (pilot, keepers and payloads) "
                     f"{fmt(b['cpu_ms_per_job'])} ms per job")
        lines.append(f"  {'phase':<24} {'process':<9} {'n/job':>6} {'ms/job':>8} {'of wall':>8}")
        for name, r in b["phases"].items():
            lines.append(f"  {name:<24} {r['process']:<9} {fmt(r['per_job']):>6} {fmt(r['ms_per_job']):>8} "
                         f"{r['share'] * 100:>7.1f}%")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(prog="ci/bench", description="Runs every benchmark of the pilot.")
    ap.add_argument("--quick", action="store_true", help="few repetitions and a short yield run (for the test)")
    ap.add_argument("--json", default=str(ROOT / "build/bench/bench.json"), help="where the results go")
    ap.add_argument("--pilot", default=os.environ.get("PILOT_BIN", str(ROOT / "build/pilot/cli/pilot")))
    ap.add_argument("--toymc", default=os.environ.get("TOYMC_BIN", str(ROOT / "build/tests/toymc")))
    ap.add_argument("--farmsim", help="pilot-farmsim (default: pilot/farmsim/pilot-farmsim of the pilot's build tree)")
    ap.add_argument("--seed", type=int, help="seed of every random time (default: from the clock; printed)")
    ap.add_argument("--only", help="comma-separated steps: " + ",".join(STEPS))
    a = ap.parse_args()
    for b in (a.pilot, a.toymc):
        if not os.access(b, os.X_OK):
            sys.exit(f"ci/bench: {b} is not built (run ci/build)")
    if a.seed is None:
        a.seed = int(time.time()) % 1000000
    q = a.quick
    a.runs_startup = 3 if q else 10
    a.runs_probe = 5 if q else 30
    a.runs_rss = 1 if q else 3
    a.rss_hold = 2 if q else 5
    a.cpu_window, a.cpu_windows = (3.0, 2) if q else (20.0, 3)
    a.jobs, a.runs_jobs = (8, 1) if q else (40, 3)
    a.runs_interrupt, a.runs_reclaim = (3, 1) if q else (20, 5)
    a.ms_per_event = 10.0
    a.yield_seconds = 10 if q else 120
    a.yield_delay = (2.0, 5.0) if q else (4.0, 20.0)
    # build/pilot/cli/pilot -> build/pilot/farmsim/pilot-farmsim
    a.farmsim = a.farmsim or os.environ.get("FARMSIM_BIN") or str(
        Path(a.pilot).resolve().parent.parent / "farmsim/pilot-farmsim")
    # A third of the HLT farm for a third of the time (the preset's outage at 30 min still falls in
    # the fill): seconds instead of half a minute.
    a.farm_scale = ["--nodes", "1500", "--duration-s", "7200"] if q else []
    steps = a.only.split(",") if a.only else list(STEPS)
    for s in steps:
        if s not in STEPS:
            sys.exit(f"ci/bench: unknown step '{s}' (steps: {', '.join(STEPS)})")

    # The SIGKILL yield run leaves payloads orphaned: they must come to us, not to init, so their
    # CPU time is counted.
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("ci/bench: prctl(PR_SET_CHILD_SUBREAPER) failed")
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "quick": q, "seed": a.seed,
            "pilot": a.pilot, "cpus": os.cpu_count(), "loadavg_before": loadavg(),
            "command": " ".join(["ci/bench", *sys.argv[1:]])}
    print(f"ci/bench{' --quick' if q else ''}: seed {a.seed}, {os.cpu_count()} CPUs, "
          f"load average {' '.join(meta['loadavg_before'])}", flush=True)
    metrics = {}
    with tempfile.TemporaryDirectory(prefix="pilot-bench.") as t:
        b = Bench(a, Path(t))
        for s in steps:
            t0 = time.monotonic()
            try:
                metrics.update(getattr(b, s)())
            except (BenchError, subprocess.CalledProcessError, OSError) as e:
                sys.exit(f"ci/bench: {s}: {e}")
            print(f"  {s}: {time.monotonic() - t0:.1f} s", flush=True)
    meta["loadavg_after"] = loadavg()
    print(table(metrics))
    if b.breakdowns:
        print()
        print(breakdown_text(b.breakdowns))
    print(f"load average before {' '.join(meta['loadavg_before'])}, after {' '.join(meta['loadavg_after'])}")
    out = Path(a.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "metrics": metrics, "breakdowns": b.breakdowns}, indent=2) + "\n")
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
