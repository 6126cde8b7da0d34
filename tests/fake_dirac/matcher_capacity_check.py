#!/usr/bin/env python3
"""Checks fake_dirac.py's capacity-limited Matcher (--matcher-workers, --matcher-service-s,
--matcher-service-dist, --job-jdl; see its docstring) with DISET clients of its own over real TLS:
at most W calls in service, FIFO, each holding its worker for the service time; a client that
closes its connection before the reply still has its call served, and a job it matched stays
handed out, recorded as not delivered; without the flags nothing is recorded beyond what it was.
Exit 0 when every check holds; each failure is printed."""

import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_dirac  # noqa: E402
from wire_check import frame, read_frame, start_server, tls, proposal_frame  # noqa: E402

failures = []
# Sleeps and thread wake-ups of a loaded machine (ctest runs tests in parallel) come late, not
# early: the lower bounds are exact, the upper ones have this much slack.
SLACK_S = 0.5


def check(what, ok, detail=""):
    if not ok:
        failures.append("%s%s" % (what, (": " + str(detail)) if detail else ""))


ARGS = frame(fake_dirac.dencode(fake_dirac.S_OK([{"Site": "DIRAC.Test.ch", "CPUTime": 86400}])))
PROPOSAL = proposal_frame("WorkloadManagement/Matcher", "Test-Setup", "RPC", "requestJob")


def request(pki, port, results, i, close_after=None):
    """One requestJob; with close_after, the client gives up that many seconds after sending,
    without reading what came meanwhile (its close then resets the connection)."""
    try:
        with tls(pki, port) as s:
            s.sendall(PROPOSAL)
            read_frame(s)
            s.sendall(ARGS)
            if close_after is not None:
                time.sleep(close_after)
                results[i] = "closed"
                return
            results[i] = fake_dirac.ddecode(read_frame(s).split(b":", 1)[1])
    except (OSError, EOFError) as e:
        results[i] = e


def matcher_records(record, n, timeout=20):
    """The first n requestJob records, in arrival order (they are written at each call's end)."""
    end = time.time() + timeout
    while time.time() < end:
        lines = [json.loads(x) for x in open(record) if x.strip()] if os.path.exists(record) else []
        calls = [x for x in lines if x.get("method") == "requestJob"]
        if len(calls) >= n:
            return sorted(calls, key=lambda r: r["matcher"]["arrival"] if "matcher" in r else r["received"])
        time.sleep(0.05)
    return calls


def staggered(pki, port, n, gap=0.05, close={}):
    """n clients, one every `gap` seconds so their arrival order is known; waits for them all."""
    results = [None] * n
    threads = []
    for i in range(n):
        t = threading.Thread(target=request, args=(pki, port, results, i, close.get(i)))
        t.start()
        threads.append(t)
        time.sleep(gap)
    for t in threads:
        t.join(30)
    return results


def max_overlap(calls):
    edges = sorted([(c["matcher"]["start"], 1) for c in calls] + [(c["matcher"]["end"], -1) for c in calls])
    depth = most = 0
    for _, d in edges:
        depth += d
        most = max(most, depth)
    return most


def fifo_and_capacity(work, pki):
    """W=2, T=0.4 s, 6 clients, 3 jobs: FIFO starts, 2 at once, 3 rounds of 0.4 s."""
    jdl = os.path.join(work, "sleep.jdl")
    with open(jdl, "w") as f:
        f.write('[ Executable = "/bin/sleep"; Arguments = "60"; CPUTime = 600; JobID = {JobID}; ]')
    server, ports, record = start_server(work, pki, "w2", os.path.join(work, "none.json"), "--jobs", "3",
                                         "--job-jdl", jdl, "--matcher-workers", "2", "--matcher-service-s", "0.4")
    try:
        results = staggered(pki, ports["diset"], 6)
        calls = matcher_records(record, 6)
    finally:
        server.terminate()
        server.wait()
    check("W=2: every client answered", all(isinstance(r, dict) for r in results), results)
    check("W=2: six records", len(calls) == 6, len(calls))
    if len(calls) != 6 or not all("matcher" in c for c in calls):
        return check("W=2: every record has its matcher field", False, calls)
    m = [c["matcher"] for c in calls]
    starts = [x["start"] for x in m]
    check("W=2: served in arrival order", starts == sorted(starts), starts)
    check("W=2: at most 2 in service at once", max_overlap(calls) == 2, max_overlap(calls))
    check("W=2: each holds its worker 0.4 s", all(0.4 <= x["end"] - x["start"] < 0.4 + SLACK_S for x in m),
          [x["end"] - x["start"] for x in m])
    check("W=2: the third waits for the first", m[2]["start"] >= m[0]["end"] - 1e-3, (m[0], m[2]))
    span = m[-1]["end"] - m[0]["arrival"]
    check("W=2: six calls take three rounds", 1.2 <= span < 1.2 + 0.25 + 2 * SLACK_S, span)
    check("W=2: the first three match, in id order",
          [(x["outcome"], c["reply"].get("Value", {}).get("JobID")) for x, c in zip(m, calls)][:3]
          == [("match", 1), ("match", 2), ("match", 3)], [x["outcome"] for x in m])
    check("W=2: then no match", [x["outcome"] for x in m][3:] == ["nomatch"] * 3, [x["outcome"] for x in m])
    check("W=2: every reply delivered", all(x["delivered"] for x in m), m)
    check("W=2: queue lengths at arrival", [x["queued"] for x in m][:3] == [0, 1, 2], [x["queued"] for x in m])
    first = results[0].get("Value", {}) if isinstance(results[0], dict) else {}
    check("--job-jdl: {JobID} replaced", first.get("JDL") ==
          '[ Executable = "/bin/sleep"; Arguments = "60"; CPUTime = 600; JobID = 1; ]', first.get("JDL"))


def timed_out_client(work, pki):
    """W=1, T=0.5 s, four clients: the second gives up after 0.2 s, before its turn; the fourth 0.3 s
    after its reply came, without reading it. Both calls are served anyway, take their job (2, 4)
    and are recorded undelivered; the others get theirs (1, 3)."""
    server, ports, record = start_server(work, pki, "w1", os.path.join(work, "none.json"), "--jobs", "5",
                                         "--matcher-workers", "1", "--matcher-service-s", "0.5")
    try:
        results = staggered(pki, ports["diset"], 4, close={1: 0.2, 3: 2.0 - 0.15 + 0.3})
        calls = matcher_records(record, 4)
    finally:
        server.terminate()
        server.wait()
    check("timed out: the clients gave up", (results[1], results[3]) == ("closed", "closed"), results)
    if len(calls) != 4 or not all("matcher" in c for c in calls):
        return check("timed out: four records with their matcher field", False, calls)
    m = [c["matcher"] for c in calls]
    jobs = [c["reply"].get("Value", {}).get("JobID") for c in calls]
    check("timed out: served in turn", all(m[i]["start"] >= m[i - 1]["end"] - 1e-3 for i in (1, 2, 3))
          and all(x["end"] - x["start"] >= 0.5 for x in m), m)
    check("timed out: every call matched its job", ([x["outcome"] for x in m], jobs) == (["match"] * 4, [1, 2, 3, 4]),
          (m, jobs))
    check("timed out: closed before its turn: lost", m[1]["delivered"] is False, m[1])
    check("timed out: reply unread at the close: lost", m[3]["delivered"] is False, m[3])
    check("timed out: the others delivered", (m[0]["delivered"], m[2]["delivered"]) == (True, True), m)
    check("timed out: the clients that waited got their jobs",
          [r.get("Value", {}).get("JobID") if isinstance(r, dict) else r for r in results] == [1, "closed", 3, "closed"],
          results)


def exponential(work, pki):
    """exp service times with a seed: the seed's exponential draws of mean T, in service order."""
    server, ports, record = start_server(work, pki, "exp", os.path.join(work, "none.json"), "--jobs", "0",
                                         "--matcher-workers", "1", "--matcher-service-s", "0.1",
                                         "--matcher-service-dist", "exp", "--matcher-seed", "7")
    try:
        staggered(pki, ports["diset"], 12, gap=0.1)
        calls = matcher_records(record, 12)
    finally:
        server.terminate()
        server.wait()
    calls = sorted((c for c in calls if "matcher" in c), key=lambda c: c["matcher"]["start"])
    d = [c["matcher"]["end"] - c["matcher"]["start"] for c in calls]
    rng = random.Random(7)
    want = [rng.expovariate(1 / 0.1) for _ in range(12)]
    check("exp: twelve calls", len(d) == 12, d)
    check("exp: the seed's draws, in service order", all(w <= x < w + SLACK_S for x, w in zip(d, want)),
          list(zip(d, want)))


def default_unchanged(work, pki):
    """No flag: calls served at once, records without a matcher field."""
    server, ports, record = start_server(work, pki, "plain", os.path.join(work, "none.json"), "--jobs", "1")
    try:
        results = staggered(pki, ports["diset"], 3, gap=0.0)
        calls = matcher_records(record, 3)
    finally:
        server.terminate()
        server.wait()
    check("default: all answered", all(isinstance(r, dict) for r in results), results)
    check("default: no matcher field", len(calls) == 3 and not any("matcher" in c for c in calls), calls)
    jdl = (results[0].get("Value") or results[1].get("Value") or results[2].get("Value") or {}).get("JDL", "")
    check("default: the echo job", '"/bin/echo"' in jdl, jdl)


def main():
    work = tempfile.mkdtemp(prefix="fake-dirac-matcher-")
    pki = os.path.join(work, "pki")
    try:
        subprocess.run(["bash", os.path.join(HERE, "make-test-pki.sh"), pki], check=True, stdout=subprocess.DEVNULL)
        fifo_and_capacity(work, pki)
        timed_out_client(work, pki)
        exponential(work, pki)
        default_unchanged(work, pki)
    finally:
        subprocess.run(["rm", "-rf", work])
    for f in failures:
        print("FAIL " + f)
    print("fake_dirac matcher capacity check: %d failures" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
