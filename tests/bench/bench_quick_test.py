#!/usr/bin/env python3
"""Runs `ci/bench --quick` against the built binaries so the benchmark cannot rot, and checks its
JSON: every metric present, complete and physically sane. No timing targets (those are the
benchmark's business, not a test's).

    bench_quick_test.py SOURCE_DIR PILOT TOYMC
"""
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

# metric: (unit, lowest sane value, highest sane value)
EXPECTED = {
    "startup_to_first_request": ("ms", 0, 60e3),
    "peak_rss_dirac_tls": ("MB", 0.5, 1000),
    "platform_json": ("ms", 0, 60e3),
    "features_json": ("ms", 0, 60e3),
    "peak_rss_1_payload": ("MB", 0.5, 1000),
    "peak_rss_8_payloads": ("MB", 0.5, 1000),
    "keeper_peak_rss": ("MB", 0.1, 1000),
    "cpu_per_hour": ("s/h", 0, 3600),
    "jobs_per_s_1_slot": ("jobs/s", 0, 1e5),
    "jobs_per_s_4_slots": ("jobs/s", 0, 1e5),
    "interrupt_latency_exec": ("ms", 0, 60e3),
    "interrupt_latency_run": ("ms", 0, 60e3),
    "reclaim_time": ("ms", 1000, 60e3),  # the payload sleeps 1 s in its finalisation
    "binary_size": ("MB", 1, 200),
    "reclaim_yield": ("%", 0, 100),
    # pilot-farmsim: a 99 % fill cannot beat the Matcher's bound by more than the last 1 %
    "farm_hlt_fill_99": ("x bound", 0.9, 1e4),
    "farm_hlt_offered": ("x cap", 0, 1e4),
    "farm_hlt_timeouts": ("reqs", 0, 1e9),
    "farm_outage_fill_99": ("x bound", 0.9, 1e4),
    "farm_outage_offered": ("x cap", 0, 1e4),
    "farm_outage_timeouts": ("reqs", 0, 1e9),
    "farm_outage_recovery": ("s", 0, 1e6),
    # ci/farm_check.py: real pilots against the fake server's limited Matcher
    "farm_check_fill_50": ("s", 0, 600),
    "farm_check_fill_99": ("s", 0, 600),
    "farm_check_latency_p50": ("s", 0, 600),
    "farm_check_overload_fill_99": ("s", 0, 600),
    "farm_check_overload_timeouts": ("reqs", 0, 1e6),
}


def check_series(name, s, unit, lo, hi):
    errors = []
    for key in ("unit", "value", "min", "max", "runs", "samples", "what"):
        if key not in s:
            errors.append(f"{name}: no '{key}'")
    if errors:
        return errors
    if s["unit"] != unit:
        errors.append(f"{name}: unit {s['unit']!r}, expected {unit!r}")
    if s["runs"] < 1 or len(s["samples"]) != s["runs"]:
        errors.append(f"{name}: {s['runs']} runs but {len(s['samples'])} samples")
    values = [s["value"], s["min"], s["max"], *s["samples"]]
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in values):
        errors.append(f"{name}: non-numeric or infinite values {values}")
        return errors
    eps = 1e-9 * max(1.0, abs(s["max"]))
    if not s["min"] - eps <= s["value"] <= s["max"] + eps:
        errors.append(f"{name}: value {s['value']} outside [{s['min']}, {s['max']}]")
    if s["min"] != min(s["samples"]) or s["max"] != max(s["samples"]):
        errors.append(f"{name}: min/max do not match the samples")
    if not all(lo <= v <= hi for v in values):
        errors.append(f"{name}: values {values} outside the sane range [{lo}, {hi}]")
    return errors


# Phases a trivial job of the local queue passes through once at least (core/trace.hpp names).
JOB_PHASES = ("queue.claim", "queue.report", "queue.file", "job.prepare", "job.start", "job.keeper_start",
              "job.payload", "job.finish", "keeper.start", "keeper.payload", "fs.write_atomic", "fs.fsync")


def check_breakdowns(b, metrics):
    errors = []
    for key in ("startup", "jobs_1_slot", "jobs_4_slots", "memory"):
        if key not in b:
            errors.append(f"breakdowns: no '{key}'")
    parts = b.get("startup", {}).get("parts", {})
    for part in ("exec to main()", "startup.configuration", "startup.platform", "tls.handshake",
                 "diset.proposal", "the arguments to the server's receipt"):
        if part not in parts:
            errors.append(f"breakdowns.startup: no part '{part}' in {sorted(parts)}")
    # The parts are consecutive: they add up to the measured start-up (a median of sums against
    # the median of the whole, so within the spread of the runs).
    whole = metrics.get("startup_to_first_request", {})
    if parts and whole and not whole["min"] * 0.5 <= sum(parts.values()) <= whole["max"] * 1.5:
        errors.append(f"breakdowns.startup: parts add up to {sum(parts.values())} ms, the whole is "
                      f"{whole['min']}-{whole['max']} ms")
    memory = b.get("memory", {}).get("parts", {})
    if memory.get("keepers") != 8:
        errors.append(f"breakdowns.memory: not taken while the 8 keepers ran: {memory}")
    elif not 0 < memory["pilot RSS: its own memory (private dirty: heap, stacks, data)"] < memory["pilot RSS"]:
        errors.append(f"breakdowns.memory: implausible {memory}")
    for key in ("jobs_1_slot", "jobs_4_slots"):
        phases = b.get(key, {}).get("phases", {})
        for name in JOB_PHASES:
            r = phases.get(name)
            if not r:
                errors.append(f"breakdowns.{key}: no phase '{name}'")
            elif r["per_job"] < 1 or not 0 <= r["ms_per_job"] < 60e3:
                errors.append(f"breakdowns.{key}.{name}: implausible {r}")
        if phases.get("keeper.start", {}).get("process") != "keep":
            errors.append(f"breakdowns.{key}: keeper.start not from the keeper process")
    return errors


def main():
    source, pilot, toymc = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="bench-quick-test.") as tmp:
        out = Path(tmp) / "bench.json"
        r = subprocess.run([str(Path(source) / "ci/bench"), "--quick", "--json", str(out), "--pilot", pilot,
                            "--toymc", toymc], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        print(r.stdout)
        if r.returncode != 0:
            sys.exit(f"FAIL: ci/bench --quick exited {r.returncode}")
        data = json.loads(out.read_text())
    errors = []
    meta = data.get("meta", {})
    for key in ("seed", "loadavg_before", "loadavg_after", "quick", "command"):
        if key not in meta:
            errors.append(f"meta: no '{key}'")
    if meta.get("quick") is not True:
        errors.append("meta: not marked quick")
    metrics = data.get("metrics", {})
    if set(metrics) != set(EXPECTED):
        errors.append(f"metrics {sorted(metrics)}, expected {sorted(EXPECTED)}")
    for name, (unit, lo, hi) in EXPECTED.items():
        if name not in metrics:
            continue
        m = metrics[name]
        errors += check_series(name, m, unit, lo, hi)
        if "reference" not in m:
            errors.append(f"{name}: no reference")
        else:
            errors += check_series(f"{name} reference", m["reference"], unit, 0 if lo != 1000 else 1000, hi)
    y = metrics.get("reclaim_yield", {})
    if "seed" not in y.get("note", "") or str(meta.get("seed")) not in y.get("note", ""):
        errors.append("reclaim_yield: the seed of the random reclaim times is not in its note")
    for c in y.get("cycles", []) + y.get("reference", {}).get("cycles", []):
        if not 0 < c["kept_cpu_s"] <= c["payload_cpu_s"] + 1e-6 or c["kept_events"] <= 0:
            errors.append(f"reclaim_yield: implausible cycle {c}")
    errors += check_breakdowns(data.get("breakdowns", {}), metrics)
    if "extrapolated" not in metrics.get("cpu_per_hour", {}).get("note", ""):
        errors.append("cpu_per_hour: the note does not say it is extrapolated")
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
