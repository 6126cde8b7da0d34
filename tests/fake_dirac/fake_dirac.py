#!/usr/bin/env python3
"""A fake DIRAC v8 server for the pilot's tests (Python 3 standard library only).

Speaks real TLS with the test PKI of make-test-pki.sh, DISET (DEncode or JSON frames, keep-alives)
and DIRAC's HTTPS (Tornado) RPC, serves WorkloadManagement/Matcher, JobStateUpdate and
PilotLogging with the replies of a real v8.0.55 server, records every call as one JSON line (with
"received", the wall-clock time the DISET request was complete, and "time", when it was recorded), and
misbehaves on demand. It binds 127.0.0.1 only, picks free ports and writes them to --port-file as
{"diset": N, "https": M}; it exits when its parent process ends.

Behaviour is set by flags and by the JSON --control file, re-read at every request:
  {"diset": "normal|hang|drop|reset|garbage|error|500", "https": "normal|hang|drop|reset|500|garbage",
   "diset_until": EPOCH, "https_until": EPOCH,
   "match": "normal|nomatch|mismatch|error", "kill": [job ids], "down": false,
   "jdl": {"<job id>": "JDL handed out for that job instead of the default echo job"},
   "sandboxes": {"SB:<SE>|<path>": "file served for that reference"}, "sandbox_store": "normal|down|hang",
   "owners": {"<job id>": {"DN": "...", "Group": "..."}}  (the Matcher's owner fields of a job,
             replacing DN/Group; {} gives a job without owner),
   "proxy": "normal|nodelegation|error", "proxy_max_lifetime": seconds}
hang: accept and never answer; drop: close mid-frame / without a reply; reset: part of a reply
frame, then a TCP reset (RST); garbage: undecodable reply; error (DISET; "500" is the same there):
S_ERROR before the handler; 500: HTML error page; down: refuse every call (close).
"<transport>_until": the fault of that transport ends at this time (seconds since the epoch), so
a test can set "500 for two minutes, then normal" in one write. Faults act before the service
handler runs: a job is never assigned, nor a status stored, by a call whose reply is lost.
SandboxStore (DISET "FileTransfer" actions, see README "Sandboxes"): downloads serve the files of
"sandboxes"; uploads are stored under <record>.sandboxes/ and recorded with their assignment;
sandbox_store "down" closes transfer connections without an answer; "hang" holds them for 60 s.
Framework/ProxyManager signs the pilot's request with the owner's stored proxy (openssl ca): an
RFC3820 proxy, limited policy for a "CN=limited proxy" request, lifetime min(requested,
proxy_max_lifetime). nodelegation: the caller lacks (Limited|Full)Delegation; an owner other
than OWNER_DN has no stored proxy.

JobStateUpdate follows DIRAC v8's JobStateUpdateHandler:
- Job state machine (JobStatus.JobsStateMachine; JOB_TRANSITIONS below). setJobStatusBulk,
  setJobStatus and setJobApplicationStatus (which goes through the bulk method, as in v8) walk
  the entries in timestamp order; unless force is true, an entry whose Status is not allowed
  from the job's current Status (Stalled counts as Running) keeps the current Status: the entry's
  Status becomes the current one and its Source gets "(SM)" appended (so LoggingInfo stores
  that), while its MinorStatus/ApplicationStatus still apply. Each refusal is recorded in the
  call's record line as "refused": [{"time": <timestamp key>, "from": ..., "to": ...}] (only
  present when something was refused). A Status that is no job state at all gives
  S_ERROR("getNextState: '<status>' is not a valid state") and changes nothing (not forced).
- Only the entries stamped at or after the job's last logged status (for each Status, "idem"
  included, the time of its last record; the latest of those, to the millisecond; string
  comparison of the timestamp keys) change the job's Status, MinorStatus and ApplicationStatus and
  go through the state machine: a report older than what the server already logged only adds
  history (the handler's lastTime rule). The Matcher logs Matched/Assigned (Source "Matcher")
  when it hands a job out.
- History (LoggingInfo): one record per entry, {"Status","MinorStatus","ApplicationStatus"
  ("idem" when absent), "Source" ("Unknown" when absent), "time" (the timestamp key),
  "time_order" (ms since the epoch of that timestamp, read as UTC, 3 decimals; null when
  unparsable)}.
- A ' in the Status, MinorStatus, ApplicationStatus or Source of an entry: the job attributes
  are still set, but that entry and those after it are not added to the history and the call
  answers {"OK": false, "Errno": 1131, "Message": "MySQL Error ( 1131 : Execution failed.: ( 1064:
  You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server
  version for the right syntax to use near '<rest of the INSERT after the quote>' at line 1 ))"}
  (JobLoggingDB.addLoggingRecord does not escape); the record line gets "sql_error": true.
- Every JobStateUpdate call on a known job records "job_after": {"Status", "MinorStatus",
  "ApplicationStatus", "history": [...]} in its record line.
- sendHeartBeat sets Status "Running" unconditionally (JobDB.setHeartBeatData, no history
  record), also for a Killed/Done job. A job listed in control "kill": the first heartbeat that
  sees it first kills it (Status "Killed", MinorStatus "Marked for termination", history record
  with Source "JobManager", as JobManager.killJob), then sets Running as above, then answers
  {"Kill": ""} (every heartbeat of a listed job answers Kill). The record line gets
  "killed": true on that first heartbeat.

SandboxStore downloads: the store's own URL is dips://<--sandbox-store-host>:<diset port>/
WorkloadManagement/SandboxStore. v8 (default): path = file id with the own URL removed
(str.replace); a path that is no "sandboxes" reference's path (after "|") is answered
S_ERROR("No sandbox matches the requirements") instead of S_OK("Accepted"), recorded as event
"no such sandbox" with "path" (a known path whose file is missing: Accepted, then
S_ERROR("Sandbox does not exist"), as before). --v9: path = the part after
"WorkloadManagement/SandboxStore"; a file id without it gets S_ERROR("Server error while serving
toClient: list index out of range") as the first reply (event "bad file id").

A capacity-limited Matcher (issue 18, "farm scale"): --matcher-workers W serves at most W
Matcher.requestJob calls at once, as the real Matcher's W worker threads; the others wait FIFO, in
the order their arguments were complete. Each holds its worker for --matcher-service-s T
(--matcher-service-dist const: T each; exp: exponential of mean T, seeded by --matcher-seed),
then matches as without the flags. A client that timed out and closed its connection meanwhile
does not cancel the work: the call is still served at its turn, and a job it matched stays Matched
(lost to the time-out). With either flag given (--matcher-workers 0: no limit, only the service
time), every requestJob record gets "matcher": {"arrival": when its arguments were complete,
"start": when it got a worker, "end": when the match was done (the service time and the match),
"outcome": "match|nomatch|error", "delivered": whether the client took the reply (false when it
had closed before the reply, or reset the connection on it: it gave up as the reply came),
"queued": Matcher calls waiting or in service at its arrival, itself excluded}; that record is
written once the client has closed after the reply (at most 1 s later; its delivery is only known
then), not before the reply as the other calls' records. Without either flag the
Matcher runs as many calls at once as come, with no added time, and records nothing more.

--tcp-nodelay: HTTPS replies go out at once. Without it an HTTPS reply, written as headers then
body, waits for the client's delayed ACK of the headers (Nagle's algorithm, up to 40 ms on
Linux): a pilot's report took ~50 ms with it, ~30 ms without, and a pilot's reports share its
worker thread with its next Matcher request, so a farm check would see the delay as slower pilots.

A backlog of jobs: --jobs N creates jobs 1..N Waiting; the Matcher hands each out once, lowest id
first, then answers "No match found". A job's JDL is its control "jdl" entry, else the text of
--job-jdl FILE with every "{JobID}" replaced by its id, else the echo job (JDL below). A farm of
sleep payloads of L seconds: --jobs N --job-jdl with
  [ Executable = "/bin/sleep"; Arguments = "L"; CPUTime = 600; JobID = {JobID}; ]

--v9 (DIRAC v9 server): implies --json; the Matcher reply carries "Owner" (user name, "owner"
for OWNER_DN, "pilot" for USER_DN; an "owners" control entry with "DN" is converted the same
way, one with "Owner" is used as is) instead of "DN", "Group" kept; the Setup is not checked;
the ProxyManager's getStoredProxyStrength/getProxy/getVOMSProxy take OWNER_DN or "owner".
"""

import argparse
import base64
import calendar
import collections
import ctypes
import datetime
import hashlib
import http.server
import json
import os
import random
import select
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

JDL = """[
  Executable = "/bin/echo";
  Arguments = "hello from DIRAC";
  JobName = "interop-test";
  JobType = "User";
  CPUTime = 3600;
  Priority = 1;
  StdOutput = "std.out";
  StdError = "std.err";
  OutputSandbox = { "std.out", "std.err" };
  JobID = %d;
  Owner = "pilot";
  OwnerGroup = "testvo_user";
]"""
USER_DN = "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot"
OWNER_DN = "/C=ch/O=DIRAC/OU=DIRAC CI/CN=owner"
LIMITED_POLICY = "1.3.6.1.4.1.3536.1.1.1.9"
USER_NAMES = {OWNER_DN: "owner", USER_DN: "pilot"}

# JobStatus.JobsStateMachine (DIRAC v8): the states each state may move to. Every restricted
# state's default is itself (a refused transition keeps the status); Deleted has no map, so the
# machine puts no restriction on it (None: any state).
JOB_TRANSITIONS = {
    "Deleted": None,
    "Killed": ["Deleted"],
    "Failed": ["Rescheduled", "Deleted"],
    "Done": ["Deleted"],
    "Completed": ["Done", "Failed"],
    "Completing": ["Done", "Failed", "Completed", "Stalled", "Killed"],
    "Stalled": ["Running", "Failed", "Killed"],
    "Running": ["Stalled", "Done", "Failed", "Rescheduled", "Completing", "Killed", "Received"],
    "Rescheduled": ["Waiting", "Received", "Deleted", "Failed"],
    "Matched": ["Running", "Failed", "Rescheduled", "Killed"],
    "Waiting": ["Matched", "Rescheduled", "Deleted"],
    "Staging": ["Waiting", "Failed", "Killed"],
    "Checking": ["Staging", "Waiting", "Rescheduled", "Failed", "Deleted"],
    "Received": ["Checking", "Waiting", "Failed", "Deleted"],
    "Submitting": ["Received", "Checking", "Deleted"],
}
SQL_1064 = ("You have an error in your SQL syntax; check the manual that corresponds to your MariaDB server "
            "version for the right syntax to use near '%s' at line 1")


def next_state(current, candidate):
    """The state JobsStateMachine(current).getNextState(candidate) gives, None for an unknown candidate."""
    if candidate not in JOB_TRANSITIONS:
        return None
    allowed = JOB_TRANSITIONS.get(current)
    if current not in JOB_TRANSITIONS:
        return candidate  # the v8 machine would fail on an unknown current state; be lenient
    if allowed is None or candidate in allowed:
        return candidate
    return current


def time_order(ts):
    """Milliseconds since the epoch (UTC) of a status timestamp, 3 decimals; None when unparsable."""
    if isinstance(ts, datetime.datetime):
        dt = ts
    else:
        dt = None
        for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S"):
            try:
                dt = datetime.datetime.strptime(str(ts).strip(), fmt)
                break
            except ValueError:
                pass
        if dt is None:
            return None
    return round((calendar.timegm(dt.utctimetuple()) + dt.microsecond / 1e6) * 1000.0, 3)


def last_logged_time(history):
    """JobLoggingDB.getWMSTimeStamps as the handler uses it: for each Status ("idem" included) the
    time of its last inserted record, the latest of those as TimeUtilities.toString prints it
    (StatusTimeOrder keeps seconds to 3 decimals); None for a job with no history."""
    stamps = {}
    for rec in history:
        if rec.get("time_order") is not None:
            stamps[rec["Status"]] = rec["time_order"]
    if not stamps:
        return None
    seconds = round(max(stamps.values()) / 1000.0, 3)
    return str(datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=seconds))


def utc_now_string():
    return str(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None))

# ---------------------------------------------------------------- DEncode


def dencode(v, out=None):
    top = out is None
    out = [] if top else out
    if v is None:
        out.append(b"n")
    elif isinstance(v, bool):
        out.append(b"b1" if v else b"b0")
    elif isinstance(v, int):
        out.append(b"i%de" % v)
    elif isinstance(v, float):
        out.append(b"f" + repr(v).encode() + b"e")
    elif isinstance(v, (str, bytes)):
        b = v.encode() if isinstance(v, str) else v
        out.append(b"s%d:" % len(b) + b)
    elif isinstance(v, (list, tuple)):
        out.append(b"l" if isinstance(v, list) else b"t")
        for x in v:
            dencode(x, out)
        out.append(b"e")
    elif isinstance(v, dict):
        out.append(b"d")
        for k, x in v.items():
            dencode(k, out)
            dencode(x, out)
        out.append(b"e")
    elif isinstance(v, datetime.datetime):
        out.append(b"za")
        dencode((v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, None), out)
    elif isinstance(v, datetime.date):
        out.append(b"zd")
        dencode((v.year, v.month, v.day), out)
    else:
        raise TypeError("cannot DEncode %r" % type(v))
    return b"".join(out) if top else None


def ddecode(data):
    def value(i):
        c = data[i:i + 1]
        if c in (b"i", b"I"):
            e = data.index(b"e", i + 1)
            return int(data[i + 1:e]), e + 1
        if c == b"f":
            e = data.index(b"e", i + 1)
            if data[e + 1:e + 2] in (b"+", b"-"):
                e = data.index(b"e", e + 1)
            return float(data[i + 1:e]), e + 1
        if c == b"b":
            return data[i + 1:i + 2] != b"0", i + 2
        if c == b"n":
            return None, i + 1
        if c in (b"s", b"u"):
            colon = data.index(b":", i + 1)
            n = int(data[i + 1:colon])
            if colon + 1 + n > len(data):
                raise ValueError("truncated string")
            return data[colon + 1:colon + 1 + n].decode(errors="surrogateescape"), colon + 1 + n
        if c in (b"l", b"t"):
            items, i = [], i + 1
            while data[i:i + 1] != b"e":
                if i >= len(data):
                    raise ValueError("truncated list")
                x, i = value(i)
                items.append(x)
            return (items if c == b"l" else tuple(items)), i + 1
        if c == b"d":
            d, i = {}, i + 1
            while data[i:i + 1] != b"e":
                if i >= len(data):
                    raise ValueError("truncated dict")
                k, i = value(i)
                d[k], i = value(i)
            return d, i + 1
        if c == b"z":
            kind = data[i + 1:i + 2]
            t, j = value(i + 2)
            cls = {b"a": datetime.datetime, b"d": datetime.date, b"t": datetime.time}[kind]
            return cls(*t), j
        raise ValueError("bad type %r at %d" % (c, i))

    v, end = value(0)
    if end != len(data):
        raise ValueError("trailing data")
    return v


def jdefault(o):
    if isinstance(o, datetime.datetime):
        return {"__dCls": "dt", "obj": o.strftime("%Y-%m-%d %H:%M:%S")}
    if isinstance(o, datetime.date):
        return {"__dCls": "date", "obj": o.strftime("%Y-%m-%d")}
    if isinstance(o, bytes):
        return {"__dCls": "b64", "obj": base64.b64encode(o).decode()}
    raise TypeError(type(o))


def jhook(d):
    if d.get("__dCls") == "dt":
        return datetime.datetime.strptime(d["obj"], "%Y-%m-%d %H:%M:%S")
    if d.get("__dCls") == "date":
        return datetime.datetime.strptime(d["obj"], "%Y-%m-%d").date()
    if d.get("__dCls") == "b64":
        return base64.b64decode(d["obj"])
    return d


def jencode(v):
    return json.dumps(v, default=jdefault)


def S_OK(v=None):
    return {"OK": True, "Value": v}


def S_ERROR(msg, errno=0):
    return {"OK": False, "Errno": errno, "Message": msg}  # DIRAC's ReturnValues key order


# ---------------------------------------------------------------- certificates


def der_find(der, oid):
    """The DER bytes after an extension OID, or None."""
    i = der.find(oid)
    return None if i < 0 else der[i + len(oid):]


def peer_info(sslsock):
    der = sslsock.getpeercert(binary_form=True)
    if not der:
        return None
    cert = sslsock.getpeercert()
    dn = lambda name: "".join("/%s=%s" % (k, v) for rdn in name for (k, v) in rdn)
    short = {"countryName": "C", "organizationName": "O", "organizationalUnitName": "OU", "commonName": "CN"}
    norm = lambda name: tuple(tuple((short.get(k, k), v) for (k, v) in rdn) for rdn in name)
    subject, issuer = dn(norm(cert["subject"])), dn(norm(cert["issuer"]))
    is_proxy = der_find(der, bytes.fromhex("06082b0601050507010e")) is not None
    group = None
    rest = der_find(der, bytes.fromhex("06032a2a2a"))
    if rest is not None:
        if rest[0] == 0x01:  # critical flag
            rest = rest[3:]
        if rest[0] == 0x04:  # OCTET STRING wrapping the IA5String
            inner = rest[2:]
            if inner[0] in (0x16, 0x0C):
                group = inner[2:2 + inner[1]].decode()
    return {"dn": subject, "identity": issuer if is_proxy else subject, "is_proxy": is_proxy, "group": group}


# ---------------------------------------------------------------- faults


def expire_faults(c, now):
    """The control with each transport's fault lifted once its "<transport>_until" has passed."""
    for transport in ("diset", "https"):
        until = c.get(transport + "_until")
        if isinstance(until, (int, float)) and now >= until:
            c[transport] = "normal"
    return c


def reset_connection(sock, partial):
    """Sends the first bytes of a reply, then aborts the TCP connection with a reset (RST)."""
    try:
        sock.sendall(partial)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    # Closing the raw descriptor (no TLS close_notify) with a zero linger sends the RST.
    os.close(sock.detach()) if hasattr(sock, "detach") else sock.close()


def diset_fault(state, c, entry, sock):
    """Acts out the DISET fault after the proposal; True when the call ends here."""
    mode = c["diset"]
    if mode == "reset":
        state.record(dict(entry, event="reset"))
        reset_connection(sock, b"18:ds2:OKb1")
        return True
    return False


def https_fault(state, c, entry, handler):
    """Acts out the HTTPS fault before the handler; True when the call ends here."""
    if c["https"] == "reset":
        state.record(dict(entry, event="reset"))
        handler.close_connection = True
        reset_connection(handler.connection, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                              b"Content-Length: 64\r\n\r\n{\"OK\": tr")
        return True
    return False


# ---------------------------------------------------------------- a limited Matcher


class MatcherPool:
    """The Matcher's worker threads: at most `workers` calls served at once, first come first
    served (a Condition alone would wake the waiters in no defined order)."""

    def __init__(self, args):
        self.workers = args.matcher_workers or 0  # 0: as many as come
        self.service_s = args.matcher_service_s
        self.dist = args.matcher_service_dist
        self.rng = random.Random(args.matcher_seed)
        self.cv = threading.Condition()
        self.busy = 0
        self.waiting = collections.deque()

    def service_time(self):
        with self.cv:
            if self.dist == "exp" and self.service_s > 0:
                return self.rng.expovariate(1.0 / self.service_s)
            return self.service_s

    def acquire(self):
        """Waits for a worker; returns how many calls were waiting or in service before this one."""
        me = object()
        with self.cv:
            ahead = self.busy + len(self.waiting)
            self.waiting.append(me)
            while self.waiting[0] is not me or (self.workers and self.busy >= self.workers):
                self.cv.wait()
            self.waiting.popleft()
            self.busy += 1
            self.cv.notify_all()  # the next in line may have a worker too
            return ahead

    def release(self):
        with self.cv:
            self.busy -= 1
            self.cv.notify_all()


def outcome(result):
    if result.get("OK"):
        return "match"
    return "nomatch" if result.get("Errno") == 1510 else "error"


def client_gone(sock):
    """Whether the client closed (or reset) its connection while its call waited. Once its request
    is complete a DISET client sends nothing more, so anything readable is its close_notify, FIN or
    RST: a pilot whose call timed out."""
    try:
        return bool(sock.pending() or select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


def reply_taken(sock, wait_s=1.0):
    """After the reply went out, whether the client took it. One that read it closes cleanly (FIN);
    one that gave up as the reply came closes with it unread, or gets it after its close, and its
    kernel answers with a reset (RST), which SO_ERROR shows. A client still open after `wait_s`
    is reading it."""
    try:
        if not (sock.pending() or select.select([sock], [], [], wait_s)[0]):
            return True
        time.sleep(0.02)  # the reset to a reply that came after the close is one round trip away
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
    except (OSError, ValueError):
        return False


# ---------------------------------------------------------------- the services


class State:
    def __init__(self, args):
        self.args = args
        self.tls = threading.local()
        self.tls.extra = {}
        self.lock = threading.Lock()
        self.killed = set()  # jobs of control "kill" already killed by a heartbeat
        self.matcher = MatcherPool(args) if args.matcher_workers is not None or args.matcher_service_s else None
        self.job_jdl = open(args.job_jdl).read() if args.job_jdl else None
        self.jobs = {}
        for jid in range(1, args.jobs + 1):
            self.jobs[jid] = {"Status": "Waiting", "MinorStatus": "Pilot Agent Submission",
                              "ApplicationStatus": "Unknown", "history": [], "parameters": {}}

    def control(self):
        c = {"diset": self.args.diset, "https": self.args.https, "match": "normal", "kill": [], "down": False}
        if self.args.control and os.path.exists(self.args.control):
            try:
                with open(self.args.control) as f:
                    c.update(json.load(f))
            except ValueError:
                pass  # being rewritten; keep the defaults for this request
        return expire_faults(c, time.time())

    def record(self, entry):
        entry["time"] = time.time()
        line = json.dumps(entry, default=lambda o: jdefault(o) if not isinstance(o, tuple) else list(o))
        with self.lock:
            with open(self.args.record, "a") as f:
                f.write(line + "\n")

    def authorize(self, service, method, peer, extra, token_ok):
        """None when allowed, else the refusal message."""
        if peer is None and not token_ok:
            return "Unauthorized query"
        if peer is not None and not peer["is_proxy"] and extra != "hosts":
            return "Unauthorized query"  # a host certificate must announce itself
        if service.endswith("Matcher") and method == "requestJob":
            if peer is not None and peer["is_proxy"] and peer["group"] not in self.args.pilot_group:
                return "Unauthorized query"
        if service.endswith("JobManager") and method == "rescheduleJob":
            # JobPolicy: GenericPilot may reschedule any job, the owner their own.
            if peer is not None and peer["group"] not in self.args.pilot_group and peer["identity"] != OWNER_DN:
                return "Unauthorized query"
        return None

    def handle(self, service, method, args, setup, entry=None):
        """The handler's reply; record fields a handler adds (self.extra) go into `entry`."""
        name = service.split("/")[-1].replace("Tornado", "")
        fn = getattr(self, "%s_%s" % (name, method), None)
        if fn is None:
            return None
        self.tls.extra = {}
        try:
            result = fn(setup, *args)
        except TypeError as e:
            result = S_ERROR("Wrong number of arguments: %s" % e)
        extra = self.tls.extra
        if name == "JobStateUpdate" and isinstance(args, (list, tuple)) and args:
            with self.lock:
                job = self.jobs.get(args[0]) if isinstance(args[0], int) else None
                if job is not None:
                    extra["job_after"] = json.loads(json.dumps(
                        {k: job[k] for k in ("Status", "MinorStatus", "ApplicationStatus", "history")},
                        default=str))
        if entry is not None:
            entry.update(extra)
        return result

    @property
    def extra(self):
        return self.tls.extra

    def Matcher_requestJob(self, setup, desc):
        c = self.control()
        if not isinstance(desc, dict):
            return S_ERROR("Resource description is not a dict")
        for key in ("Site", "CPUTime"):
            if key not in desc:
                return S_ERROR("Missing mandatory key %s" % key)
        if c["match"] == "mismatch" or (self.args.pilot_version and "ReleaseVersion" in desc
                                        and desc["ReleaseVersion"] != self.args.pilot_version):
            return S_ERROR("Pilot version does not match the production version %s" % self.args.pilot_version, 1511)
        if c["match"] == "error":
            return S_ERROR("Error requesting job", 0)
        if c["match"] == "nomatch" or (setup != self.args.setup and not self.args.v9):
            return S_ERROR("No match found ( 1510 : )", 1510)
        with self.lock:
            for jid, job in sorted(self.jobs.items()):
                if job["Status"] == "Waiting" and desc["CPUTime"] >= 3600:
                    job["Status"], job["MinorStatus"] = "Matched", "Assigned"
                    ts = utc_now_string()
                    job["history"].append({"Status": "Matched", "MinorStatus": "Assigned",
                                           "ApplicationStatus": "idem", "Source": "Matcher",
                                           "time": ts, "time_order": time_order(ts)})
                    jdl = c.get("jdl", {}).get(str(jid)) or (
                        self.job_jdl.replace("{JobID}", str(jid)) if self.job_jdl else JDL % jid)
                    reply = {"JDL": jdl, "JobID": jid}
                    owner = dict(c.get("owners", {}).get(str(jid), {"DN": OWNER_DN, "Group": "testvo_user"}))
                    if self.args.v9 and "DN" in owner:
                        dn = owner.pop("DN")
                        owner = dict({"Owner": USER_NAMES.get(dn, dn.rsplit("CN=", 1)[-1])}, **owner)
                    reply.update(owner)
                    reply["PilotInfoReportedFlag"] = True
                    return S_OK(reply)
        return S_ERROR("No match found ( 1510 : )", 1510)

    def JobStateUpdate_setJobStatusBulk(self, setup, jid, statuses, force=False):
        if not isinstance(statuses, dict):
            return S_ERROR("Incorrect type for argument 2: expected dict")
        with self.lock:
            return self.set_status_bulk(jid, statuses, force)

    def set_status_bulk(self, jid, statuses, force):
        """JobStateUpdateHandler._setJobStatusBulk (v8), called with the lock held."""
        job = self.jobs.get(jid)
        if job is None:
            return S_ERROR("No Matching Job", 0)
        if not statuses:
            return S_OK([["MinorStatus", "ApplicationStatus"], [job["MinorStatus"], job["ApplicationStatus"]]])
        # empty fields are dropped, as the handler does
        updates = [(ts, {k: v for k, v in (statuses[ts] or {}).items() if v}) for ts in sorted(statuses, key=str)]
        current = "Running" if job["Status"] == "Stalled" else job["Status"]
        refused = []
        status, minor, app = None, "", ""
        # Only entries stamped at or after the job's last logged status change its attributes
        # (compared as strings, as the handler does); older ones only go into the history.
        last = last_logged_time(job["history"])
        for ts, sdict in [(ts, sdict) for ts, sdict in updates if last is None or str(ts) >= last]:
            status = sdict.get("Status", current)
            if not force and status != current:
                new = next_state(current, status)
                if new is None:
                    return S_ERROR("getNextState: %r is not a valid state" % status)
                if new != status:
                    refused.append({"time": ts, "from": current, "to": status})
                    status = sdict["Status"] = new
                    sdict["Source"] = sdict.get("Source", "") + "(SM)"
                current = new
            minor = sdict.get("MinorStatus", minor)
            app = sdict.get("ApplicationStatus", app)
        # the job attributes (escaped by JobDB, so a quote is harmless there)
        if status:
            job["Status"] = status
        if minor:
            job["MinorStatus"] = minor
        if app:
            job["ApplicationStatus"] = app
        if refused:
            self.extra["refused"] = refused
        # the LoggingInfo records (JobLoggingDB.addLoggingRecord does not escape)
        for ts, sdict in updates:
            rec = {"Status": sdict.get("Status", "idem"), "MinorStatus": sdict.get("MinorStatus", "idem"),
                   "ApplicationStatus": sdict.get("ApplicationStatus", "idem"),
                   "Source": sdict.get("Source", "Unknown"), "time": ts, "time_order": time_order(ts)}
            error = sql_quote_error(jid, rec)
            if error:
                self.extra["sql_error"] = True
                return error
            job["history"].append(rec)
        return S_OK([["MinorStatus", "ApplicationStatus"], [job["MinorStatus"], job["ApplicationStatus"]]])

    def set_status(self, jid, status=None, minor=None, app=None, source=None, when=None, force=False):
        """JobStateUpdateHandler.__setJobStatus: one entry through the bulk method."""
        sdict = {k: v for k, v in (("Status", status), ("MinorStatus", minor), ("ApplicationStatus", app)) if v}
        with self.lock:
            if jid not in self.jobs:
                return S_ERROR("No Matching Job", 0)
            if not sdict:
                return S_OK()
            if source:
                sdict["Source"] = source
            result = self.set_status_bulk(jid, {str(when) if when else utc_now_string(): sdict}, force)
        return result if not result["OK"] else S_OK()

    def JobStateUpdate_setJobStatus(self, setup, jid, status="", minor="", source="Unknown", when=None, force=False):
        return self.set_status(jid, status, minor, None, source, when, force)

    def JobStateUpdate_setJobApplicationStatus(self, setup, jid, app, source="Unknown"):
        return self.set_status(jid, None, None, app, source)

    def JobStateUpdate_setJobParameters(self, setup, jid, params):
        with self.lock:
            job = self.jobs.get(jid)
            if job is None:
                return S_ERROR("No Matching Job", 0)
            for name, value in params:
                job["parameters"][name] = value
            return S_OK(len(params))

    def JobStateUpdate_setJobParameter(self, setup, jid, name, value):
        return self.JobStateUpdate_setJobParameters(setup, jid, [[name, value]]) and S_OK(1)

    def JobStateUpdate_sendHeartBeat(self, setup, jid, dynamic, static):
        kill = jid in self.control()["kill"]
        with self.lock:
            job = self.jobs.get(jid)
            if job is not None:
                if kill and jid not in self.killed:
                    # JobManager.killJob ran before this heartbeat
                    self.killed.add(jid)
                    job["Status"], job["MinorStatus"] = "Killed", "Marked for termination"
                    ts = utc_now_string()
                    job["history"].append({"Status": "Killed", "MinorStatus": "Marked for termination",
                                           "ApplicationStatus": "idem", "Source": "JobManager",
                                           "time": ts, "time_order": time_order(ts)})
                    self.extra["killed"] = True
                job["Status"] = "Running"  # JobDB.setHeartBeatData, no LoggingInfo record
        if kill:
            return S_OK({"Kill": ""})
        return S_OK({})

    # ------------------------------------------------------------ WorkloadManagement/JobManager

    def JobManager_rescheduleJob(self, setup, jids):
        # JobDB.rescheduleJob: the counter goes up until MaxRescheduling, then the job fails. The
        # real server goes through Received and the optimizers; the job reaches Waiting here at once.
        ids = jids if isinstance(jids, list) else [jids]
        with self.lock:
            for jid in ids:
                if jid not in self.jobs:
                    r = S_ERROR("Some jobs failed reschedule")
                    r["InvalidJobIDs"] = [jid]
                    return r
            for jid in ids:
                job = self.jobs[jid]
                counter = job.get("RescheduleCounter", 0) + 1
                if counter > self.args.max_rescheduling:
                    job["Status"], job["MinorStatus"] = "Failed", "Maximum of reschedulings reached"
                    return S_ERROR("Maximum number of reschedulings is reached: %d" % self.args.max_rescheduling)
                job["RescheduleCounter"] = counter
                job["Status"], job["MinorStatus"], job["ApplicationStatus"] = "Waiting", "Job Rescheduled", "Unknown"
        r = S_OK(ids)
        r["requireProxyUpload"] = False
        return r

    # ------------------------------------------------------------ Framework/ProxyManager

    def stored_proxy(self, dn, group):
        """(certificate file, key file, chain PEM) of the owner's stored proxy, or None."""
        if self.args.v9 and dn == USER_NAMES[OWNER_DN]:
            dn = OWNER_DN  # a v9 pilot without a Configuration Server sends the match's user name
        if dn != OWNER_DN or group != "testvo_user":
            return None
        path = os.path.join(self.args.pki, "owner_stored_proxy.pem")
        with open(path) as f:
            pem = f.read()
        return path, pem

    def ProxyManager_getStoredProxyStrength(self, setup, dn, group, voms=None):
        if self.stored_proxy(dn, group) is None:
            return S_ERROR("%s@%s has no proxy registered" % (dn, group), 1108)
        out = subprocess.run(["openssl", "pkey", "-in", self.stored_proxy(dn, group)[0], "-noout", "-text"],
                             capture_output=True, text=True, check=True).stdout
        return S_OK(int(out.split("(", 1)[1].split(" bit", 1)[0]))

    def ProxyManager_getProxy(self, setup, dn, group, request_pem, lifetime):
        return self.delegate(dn, group, request_pem, lifetime)

    def ProxyManager_getVOMSProxy(self, setup, dn, group, request_pem, lifetime, voms):
        return self.delegate(dn, group, request_pem, lifetime)

    def delegate(self, dn, group, request_pem, lifetime):
        c = self.control()
        if c.get("proxy") == "nodelegation":
            return S_ERROR("You can't get proxies!")
        if c.get("proxy") == "error":
            return S_ERROR("Internal error while getting the proxy", 0)
        if not isinstance(request_pem, str) or not isinstance(lifetime, int) or isinstance(lifetime, bool):
            return S_ERROR("Wrong type of arguments")
        stored = self.stored_proxy(dn, group)
        if stored is None:
            return S_ERROR("%s@%s has no proxy registered" % (dn, group), 1108)
        path, pem = stored
        lifetime = min(lifetime, int(c.get("proxy_max_lifetime", lifetime)))
        try:
            chain = sign_proxy(path, pem, request_pem, lifetime, self.next_serial())
        except RuntimeError as e:
            return S_ERROR("Can't generate the proxy: %s" % e)
        if chain is None:
            return S_ERROR("Can't load request data")
        return S_OK(chain)

    def next_serial(self):
        with self.lock:
            self.serial = getattr(self, "serial", 30000) + 1
            return self.serial

    def PilotLogging_sendMessage(self, setup, message, uuid, vo):
        return S_OK("Message logged successfully for pilot: %s" % uuid)

    def PilotLogging_finaliseLogs(self, setup, payload, uuid, vo):
        return S_OK("Log file finalised for pilot: %s" % uuid)


def sql_quote_error(jid, rec):
    """The S_ERROR of the unescaped LoggingInfo INSERT when a field holds a quote, else None."""
    fields = ("Status", "MinorStatus", "ApplicationStatus", "Source")
    if not any("'" in str(rec[k]) for k in fields):
        return None
    stmt = "INSERT INTO LoggingInfo (JobId, Status, MinorStatus, ApplicationStatus, StatusTime, StatusTimeOrder, " \
           "StatusSource) VALUES (%d,'" % jid
    order = rec["time_order"] or 0.0
    values = [("Status", rec["Status"]), ("MinorStatus", rec["MinorStatus"]),
              ("ApplicationStatus", rec["ApplicationStatus"]), (None, str(rec["time"])), (None, None),
              ("Source", rec["Source"])]
    pos = None
    for i, (k, v) in enumerate(values):
        if v is None:  # StatusTimeOrder, unquoted
            stmt = stmt[:-1] + "%.3f,'" % order
            continue
        if pos is None and k and "'" in str(v):
            pos = len(stmt) + str(v).index("'") + 1
        stmt += str(v) + ("','" if i < len(values) - 1 else "')")
    near = stmt[pos:][:80]
    return S_ERROR("MySQL Error ( 1131 : Execution failed.: ( 1064: %s ))" % (SQL_1064 % near), 1131)


def sign_proxy(stored_path, stored_pem, request_pem, lifetime, serial):
    """The request signed by the stored proxy (certificate + key in stored_path) as an RFC3820
    proxy valid for `lifetime` seconds, followed by the stored proxy's chain."""
    certs = [b + "-----END CERTIFICATE-----\n" for b in stored_pem.split("-----END CERTIFICATE-----")[:-1]]
    certs = [c[c.index("-----BEGIN CERTIFICATE-----"):] for c in certs]
    with tempfile.TemporaryDirectory() as d:
        j = lambda name: os.path.join(d, name)
        with open(j("req.pem"), "w") as f:
            f.write(request_pem)
        req_subject = subprocess.run(["openssl", "req", "-in", j("req.pem"), "-noout", "-subject", "-nameopt", "compat"],
                                     capture_output=True, text=True).stdout
        if "CN=" not in req_subject:
            return None
        limited = "CN=limited proxy" in req_subject
        with open(j("issuer.pem"), "w") as f:
            f.write(certs[0])
        issuer = subprocess.run(["openssl", "x509", "-in", j("issuer.pem"), "-noout", "-subject", "-nameopt", "compat"],
                                capture_output=True, text=True, check=True).stdout.strip()[len("subject="):]
        os.mkdir(j("db"))
        open(j("db/index.txt"), "w").close()
        with open(j("db/serial"), "w") as f:
            digits = "%X" % serial
            f.write(("0" * (len(digits) % 2)) + digits + "\n")  # openssl wants whole bytes
        with open(j("ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = p\n[p]\ndatabase = %s\nserial = %s\nnew_certs_dir = %s\n"
                    "default_md = sha256\npolicy = any\nunique_subject = no\n[any]\ncommonName = supplied\n"
                    % (j("db/index.txt"), j("db/serial"), j("db")))
        with open(j("ext.cnf"), "w") as f:
            f.write("[proxy]\nbasicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature, keyEncipherment\n"
                    "proxyCertInfo = critical, language:%s\n" % (LIMITED_POLICY if limited else "id-ppl-inheritAll"))
        now = datetime.datetime.now(datetime.timezone.utc)
        fmt = "%Y%m%d%H%M%SZ"
        start = (now - datetime.timedelta(seconds=60)).strftime(fmt)
        end = (now + datetime.timedelta(seconds=lifetime)).strftime(fmt)
        r = subprocess.run(["openssl", "ca", "-batch", "-config", j("ca.cnf"), "-cert", j("issuer.pem"),
                            "-keyfile", stored_path, "-in", j("req.pem"), "-out", j("new.pem"), "-notext",
                            "-preserveDN", "-subj", issuer + "/CN=%d" % serial, "-startdate", start, "-enddate", end,
                            "-extfile", j("ext.cnf"), "-extensions", "proxy"],
                           capture_output=True, text=True, env=dict(os.environ, OPENSSL_CONF="/dev/null"))
        if r.returncode != 0:
            raise RuntimeError("openssl ca: " + r.stderr)
        with open(j("new.pem")) as f:
            return f.read() + "".join(certs)


# ---------------------------------------------------------------- DISET


class DisetHandler(socketserver.BaseRequestHandler):
    def read_frame(self, sock, buf):
        while b":" not in buf[:12]:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            buf += chunk
        n, _, rest = buf.partition(b":")
        n = int(n)
        while len(rest) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError
            rest += chunk
        return rest[:n], rest[n:]

    def decode(self, payload):
        try:
            return ddecode(payload), "dencode"
        except Exception:
            return json.loads(payload.decode(), object_hook=jhook), "json"

    def send(self, sock, value, prefix=b""):
        data = jencode(value).encode() if self.server.state.args.json else dencode(value)
        sock.sendall(prefix + b"%d:" % len(data) + data)

    def limited_matcher(self, sock, service, method, arguments, setup, entry):
        """One requestJob through the Matcher's worker pool (see the docstring)."""
        state = self.server.state
        pool = state.matcher
        m = {"arrival": entry["received"]}
        m["queued"] = pool.acquire()
        m["start"] = time.time()
        try:
            time.sleep(pool.service_time())
            result = state.handle(service, method, arguments, setup, entry)
        finally:
            m["end"] = time.time()
            pool.release()
        m["outcome"] = outcome(result)
        delivered = not client_gone(sock)
        if delivered:
            try:
                self.send(sock, result)
                delivered = reply_taken(sock)
            except OSError:
                delivered = False
        m["delivered"] = delivered
        entry["reply"] = result
        entry["matcher"] = m
        state.record(entry)

    def handle(self):
        state = self.server.state
        c = state.control()
        try:
            sock = self.server.ctx.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            state.record({"transport": "diset", "event": "handshake failed", "error": str(e)})
            return
        entry = {"transport": "diset", "peer": peer_info(sock)}
        try:
            if c["down"]:
                return
            raw, buf = self.read_frame(sock, b"")
            proposal, entry["encoding"] = self.decode(raw)
            entry["raw_proposal"] = ("%d:" % len(raw)) + raw.decode("latin-1")
            (service, setup, vo), (_, method), extra, version = proposal["Value"]
            entry.update(service=service, setup=setup, vo=vo, method=method, extra_credentials=extra,
                         client_version=version)
            if c["diset"] == "hang":
                state.record(dict(entry, event="hanging"))
                time.sleep(60)
                return
            if diset_fault(state, c, entry, sock):
                return
            if c["diset"] in ("error", "500"):
                state.record(dict(entry, event="refused with an error"))
                self.send(sock, S_ERROR("Server error while serving %s" % method, 0))
                return
            refusal = state.authorize(service, method, entry["peer"], extra, False)
            if refusal:
                state.record(dict(entry, event="unauthorized"))
                self.send(sock, S_ERROR(refusal, 1111))
                return
            if self.server.state.args.keepalive:
                self.send(sock, S_OK({"id": "ka-1", "kaping": True}), prefix=b"dka")
            self.send(sock, S_OK())
            # a pong may come before the arguments
            while True:
                if buf.startswith(b"dka"):
                    pong, buf = self.read_frame(sock, buf[3:])
                    entry["keepalive_reply"] = self.decode(pong)[0]
                    continue
                if not buf and self.server.state.args.keepalive and "keepalive_reply" not in entry:
                    buf = sock.recv(65536)
                    continue
                break
            if proposal["Value"][1][0] == "FileTransfer":
                return sandbox_transfer(self, sock, buf, entry, method, c)
            raw, buf = self.read_frame(sock, buf)
            # When the request was complete (ci/bench times the pilot's start-up to this moment);
            # "time" is taken after the reply is computed.
            entry["received"] = time.time()
            entry["raw_arguments"] = ("%d:" % len(raw)) + raw.decode("latin-1")
            arguments = self.decode(raw)[0]["Value"]
            entry["args"] = arguments
            if c["diset"] == "drop":
                state.record(dict(entry, event="dropped"))
                sock.sendall(b"500:ds2:OKb1s5:Value")
                return
            if c["diset"] == "garbage":
                state.record(dict(entry, event="garbage"))
                sock.sendall(b"12:<html>oops</")
                return
            if state.matcher is not None and service.split("/")[-1] == "Matcher" and method == "requestJob":
                return self.limited_matcher(sock, service, method, arguments, setup, entry)
            result = state.handle(service, method, arguments, setup, entry)
            if result is None:
                result = S_ERROR("Unknown method %s" % method, 1102)
            entry["reply"] = result
            state.record(entry)
            self.send(sock, result)
        except (EOFError, OSError, ValueError, KeyError, TypeError) as e:
            state.record(dict(entry, event="connection error", error=repr(e)))
        finally:
            try:
                sock.close()
            except OSError:
                pass


# ---------------------------------------------------------------- SandboxStore transfers


def transfer_bytes(v):
    return v if isinstance(v, bytes) else v.encode(errors="surrogateescape")


def sandbox_transfer(handler, sock, buf, entry, direction, c):
    """One DISET file transfer as DIRAC's RequestHandler/FileHelper run it."""
    state = handler.server.state
    entry["transfer"] = direction
    raw, buf = handler.read_frame(sock, buf)
    entry["raw_file_info"] = ("%d:" % len(raw)) + raw.decode("latin-1")
    info = handler.decode(raw)[0]["Value"]
    entry["file_info"] = info
    if c.get("sandbox_store") == "down":
        state.record(dict(entry, event="sandbox store down"))
        return
    if c.get("sandbox_store") == "hang":
        state.record(dict(entry, event="hanging"))
        time.sleep(60)
        return
    if direction == "ToClient":
        file_id = info[0]
        if state.args.v9:
            parts = str(file_id).split("WorkloadManagement/SandboxStore")
            if len(parts) < 2:
                state.record(dict(entry, event="bad file id"))
                handler.send(sock, S_ERROR("Server error while serving toClient: list index out of range"))
                return
            path = parts[1]
        else:
            own = "dips://%s:%d/WorkloadManagement/SandboxStore" % (state.args.sandbox_store_host,
                                                                      state.args.diset_port)
            path = str(file_id).replace(own, "")
        source, known = None, False
        for ref, f in c.get("sandboxes", {}).items():
            if ref.split("|", 1)[-1] == path:
                source, known = f, True
        if not known:
            state.record(dict(entry, event="no such sandbox", path=path))
            handler.send(sock, S_ERROR("No sandbox matches the requirements"))
            return
        if source is None or not os.path.exists(source):
            state.record(dict(entry, event="no such sandbox", path=path))
            handler.send(sock, S_OK("Accepted"))
            handler.send(sock, S_ERROR("Sandbox does not exist"))
            return
        handler.send(sock, S_OK("Accepted"))
        data = open(source, "rb").read()
        md5 = hashlib.md5()
        for off in range(0, len(data), 1048576):
            chunk = data[off:off + 1048576]
            md5.update(chunk)
            handler.send(sock, S_OK([True, chunk]))
            ack, buf = handler.read_frame(sock, buf)
        handler.send(sock, S_OK([False, md5.hexdigest()]))
        state.record(dict(entry, event="sandbox sent", path=path, size=len(data)))  # before the client can look
        handler.send(sock, S_OK())
        return
    if direction == "FromClient":
        (name, assign), token, size = info
        handler.send(sock, S_OK("Accepted"))
        data, md5 = b"", hashlib.md5()
        while True:
            raw, buf = handler.read_frame(sock, buf)
            flag, payload = handler.decode(raw)[0]["Value"]
            if not flag:
                break
            payload = transfer_bytes(payload)
            md5.update(payload)
            data += payload
            handler.send(sock, S_OK())
        if payload != md5.hexdigest() or name != md5.hexdigest() + ".tar.bz2" or size != len(data):
            handler.send(sock, S_ERROR("Hashes don't match!"))
            state.record(dict(entry, event="upload refused", name=name, size=len(data)))
            return
        store = state.args.record + ".sandboxes"
        os.makedirs(store, exist_ok=True)
        with open(os.path.join(store, name), "wb") as f:
            f.write(data)
        h = md5.hexdigest()
        ref = "SB:SandboxSE|/SandBox/p/pilot.testvo_user/%s/%s/%s.tar.bz2" % (h[0:3], h[3:6], h)
        state.record(dict(entry, event="sandbox stored", sandbox=ref, assigned=assign,
                          file=os.path.join(store, name), size=len(data)))
        handler.send(sock, S_OK(ref))
        return
    handler.send(sock, S_ERROR("Service can't transfer files %s" % direction))


class ThreadingTCP(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


# ---------------------------------------------------------------- HTTPS


class HttpsHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def html(self, code, text):
        body = ("<html><title>%d: %s</title><body>%d: %s</body></html>" % (code, text, code, text)).encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.html(405, "Method Not Allowed")

    def do_POST(self):
        state = self.server.state
        c = state.control()
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode()
        form = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        service = self.path.strip("/")
        peer = peer_info(self.connection)
        auth = self.headers.get("Authorization", "")
        token_ok = bool(state.args.token) and auth == "Bearer " + state.args.token
        entry = {"transport": "https", "service": service, "method": form.get("method"), "raw_body": body,
                 "peer": peer, "bearer": auth[7:] if auth.startswith("Bearer ") else None,
                 "vo": form.get("clientVO"), "setup": form.get("clientSetup")}
        if "extraCredentials" in form:
            entry["extra_credentials"] = json.loads(form["extraCredentials"])
        if c["down"]:
            self.close_connection = True
            return
        if c["https"] == "hang":
            state.record(dict(entry, event="hanging"))
            time.sleep(60)
            return
        if https_fault(state, c, entry, self):
            return
        if c["https"] == "drop":
            state.record(dict(entry, event="dropped"))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if c["https"] == "500":
            state.record(dict(entry, event="500"))
            return self.html(500, "Internal Server Error")
        if not service.startswith(("WorkloadManagement/", "Framework/")) or service.split("/")[-1] not in (
                "TornadoJobStateUpdate", "TornadoPilotLogging", "TornadoProxyManager", "TornadoJobManager"):
            state.record(dict(entry, event="404"))
            return self.html(404, "Not Found")
        refusal = state.authorize(service, form.get("method"), peer, entry.get("extra_credentials"), token_ok)
        if refusal:
            state.record(dict(entry, event="401"))
            return self.html(401, "Unauthorized")
        try:
            args = json.loads(form.get("args", "[]"), object_hook=jhook)
        except ValueError:
            return self.html(400, "Bad Request")
        entry["args"] = args
        result = state.handle(service, form.get("method"), args, form.get("clientSetup"), entry)
        if result is None:
            state.record(dict(entry, event="501"))
            return self.html(501, "Not Implemented")
        entry["reply"] = result
        state.record(entry)
        data = b"{not json" if c["https"] == "garbage" else jencode(result).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ThreadingHTTPS(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.settimeout(30)
        if self.state.args.tcp_nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            return self.ctx.wrap_socket(sock, server_side=True), addr
        except (ssl.SSLError, OSError) as e:
            self.state.record({"transport": "https", "event": "handshake failed", "error": str(e)})
            sock.close()
            raise


# ---------------------------------------------------------------- main


def host_cert_files(args):
    """The server certificate and key: the good one, or one a client must refuse (--host-cert)."""
    prefix = "wrong_" if args.wrong_ca else "" if args.host_cert == "good" else args.host_cert + "_"
    return os.path.join(args.pki, prefix + "hostcert.pem"), os.path.join(args.pki, prefix + "hostkey.pem")


def tls_context(args, require_cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*host_cert_files(args))
    ctx.load_verify_locations(capath=os.path.join(args.pki, "certificates"))
    ctx.verify_mode = ssl.CERT_REQUIRED if require_cert else ssl.CERT_OPTIONAL
    ctx.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return ctx


def watch_parent(parent):
    # PR_SET_PDEATHSIG where available, and polling as the portable fallback.
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pki", required=True, help="directory made by make-test-pki.sh")
    p.add_argument("--port-file", required=True)
    p.add_argument("--record", required=True, help="JSON-lines file of the calls received")
    p.add_argument("--control", help="JSON file changing the behaviour at run time")
    p.add_argument("--diset", default="normal", choices=["normal", "hang", "drop", "reset", "garbage", "error", "500"])
    p.add_argument("--https", default="normal", choices=["normal", "hang", "drop", "reset", "500", "garbage"])
    p.add_argument("--json", action="store_true", help="DISET replies in JSON (DIRAC v9)")
    p.add_argument("--keepalive", action="store_true", help="send a keep-alive ping before the proposal answer")
    p.add_argument("--wrong-ca", action="store_true", help="serve a host certificate of the untrusted CA")
    p.add_argument("--host-cert", default="good", choices=["good", "expired", "othername", "selfsigned", "wrong"],
                   help="serve a host certificate a client must refuse (see make-test-pki.sh)")
    p.add_argument("--setup", default="Test-Setup")
    p.add_argument("--pilot-version", default="", help="Pilot/Version checked against ReleaseVersion")
    p.add_argument("--pilot-group", action="append", default=None, help="groups with GenericPilot")
    p.add_argument("--token", default="", help="bearer token accepted instead of a certificate")
    p.add_argument("--jobs", type=int, default=1, help="waiting jobs 1..N")
    p.add_argument("--job-jdl", help="file: the JDL of every job without a control \"jdl\" entry, "
                                     "{JobID} replaced by its id (default: the echo job)")
    p.add_argument("--matcher-workers", type=int, help="Matcher calls served at once, the others wait FIFO "
                                                      "(0: no limit; default: no limit and no record)")
    p.add_argument("--matcher-service-s", type=float, default=0.0, help="seconds each Matcher call holds its worker")
    p.add_argument("--matcher-service-dist", default="const", choices=["const", "exp"],
                   help="const: each call --matcher-service-s; exp: exponential of that mean")
    p.add_argument("--matcher-seed", type=int, help="seed of the exponential service times")
    p.add_argument("--tcp-nodelay", action="store_true",
                   help="HTTPS replies without Nagle's wait (see the docstring)")
    p.add_argument("--max-rescheduling", type=int, default=3, help="JobDB MaxRescheduling")
    p.add_argument("--sandbox-store-host", default="localhost",
                   help="host of the SandboxStore's own URL dips://HOST:<diset port>/WorkloadManagement/SandboxStore")
    p.add_argument("--v9", action="store_true", help="behave as a DIRAC v9 server (implies --json)")
    args = p.parse_args()
    if args.v9:
        args.json = True
    args.pilot_group = args.pilot_group or ["testvo_pilot"]

    parent = os.getppid()
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    # Python runs the handler only in the main thread, which sleeps: a SIGTERM the kernel gives
    # another thread would wait for that sleep to end. Threads inherit the blocked mask.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    threading.Thread(target=watch_parent, args=(parent,), daemon=True).start()

    state = State(args)
    diset = ThreadingTCP(("127.0.0.1", 0), DisetHandler)
    diset.state, diset.ctx = state, tls_context(args, True)
    args.diset_port = diset.server_address[1]
    https = ThreadingHTTPS(("127.0.0.1", 0), HttpsHandler)
    https.state, https.ctx = state, tls_context(args, False)
    for srv in (diset, https):
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"diset": diset.server_address[1], "https": https.server_address[1]}, f)
    os.rename(tmp, args.port_file)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
