#!/usr/bin/env python3
"""Checks that fake_dirac.py, when not faulting, answers byte for byte as dirac-wire.md says a
DIRAC v8.0.55 server does: the DISET frames of section 4 sent verbatim over real TLS, the replies
of section 6 compared as bytes, and the HTTPS replies of section 5. Exit 0 when all match; each
mismatch is printed with what was expected and what came."""

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import fake_dirac  # noqa: E402  (its DEncode, to build frames of the behaviour checks)

failures = []


def expect(what, got, want):
    if got != want:
        failures.append("%s:\n  expected %r\n  got      %r" % (what, want, got))


def frame(payload):
    return b"%d:" % len(payload) + payload


def read_frame(sock):
    buf = b""
    while b":" not in buf:
        chunk = sock.recv(1)
        if not chunk:
            raise EOFError("connection closed inside a frame header")
        buf += chunk
    n = int(buf[:-1])
    body = b""
    while len(body) < n:
        chunk = sock.recv(n - len(body))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(body), n))
        body += chunk
    return buf + body


def tls(pki, port):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(capath=os.path.join(pki, "certificates"))
    ctx.load_cert_chain(os.path.join(pki, "proxy.pem"))
    return ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")


def diset(pki, port, proposal, arguments):
    with tls(pki, port) as s:
        s.sendall(proposal)
        accepted = read_frame(s)
        s.sendall(arguments)
        return accepted, read_frame(s)


def https(pki, port, path, form, method="POST"):
    body = urllib.parse.urlencode(form).encode()
    with tls(pki, port) as s:
        req = ("%s /%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (method, path, len(body))).encode() + body
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), payload


def start_server(work, pki, name, control, *flags):
    ports_file = os.path.join(work, name + ".ports.json")
    record = os.path.join(work, name + ".calls.jsonl")
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_dirac.py"), "--pki", pki,
                               "--port-file", ports_file, "--record", record, "--control", control] + list(flags))
    for _ in range(300):
        if os.path.exists(ports_file):
            break
        time.sleep(0.05)
    return server, json.load(open(ports_file)), record


def last_record(record, method):
    time.sleep(0.05)
    lines = [json.loads(x) for x in open(record) if x.strip()]
    lines = [x for x in lines if x.get("method") == method]
    return lines[-1] if lines else {}


def proposal_frame(service, setup, action, method):
    return frame(fake_dirac.dencode(fake_dirac.S_OK([[service, setup, "testvo"], [action, method], "", "v9.0.0"])))


def download(pki, port, file_id):
    """The first reply of a SandboxStore ToClient transfer, and the file when one came."""
    with tls(pki, port) as s:
        s.sendall(proposal_frame("WorkloadManagement/SandboxStore", "Test-Setup", "FileTransfer", "ToClient"))
        read_frame(s)
        s.sendall(frame(fake_dirac.dencode(fake_dirac.S_OK([file_id, ""]))))
        first = fake_dirac.ddecode(read_frame(s).split(b":", 1)[1])
        data = b""
        if first["OK"]:
            while True:
                r = fake_dirac.ddecode(read_frame(s).split(b":", 1)[1])
                if not r["OK"] or not r["Value"][0]:
                    break
                data += fake_dirac.transfer_bytes(r["Value"][1])
                s.sendall(frame(fake_dirac.dencode(fake_dirac.S_OK())))
        return first, data


def behaviour_checks(work, pki, ports, record, control):
    """JobStateUpdate state machine, quote flaw, heartbeat, kill, v8 sandbox file ids (job 1 is Matched)."""
    path = "WorkloadManagement/TornadoJobStateUpdate"
    call = lambda method, args: json.loads(https(pki, ports["https"], path, {
        "method": method, "args": json.dumps(args), "clientVO": "testvo", "clientSetup": "Test-Setup"})[1])
    r = call("setJobStatus", [1, "Killed", "Killed by test", "Test", None, True])
    expect("forced setJobStatus Killed", r, {"OK": True, "Value": None})
    r = call("setJobStatus", [1, "Completing", "Finishing", "JobWrapper"])
    rec = last_record(record, "setJobStatus")
    expect("Killed -> Completing not forced: Status kept", rec.get("job_after", {}).get("Status"), "Killed")
    expect("Killed -> Completing not forced: MinorStatus applied", rec["job_after"]["MinorStatus"], "Finishing")
    expect("refused transition recorded", [(x["from"], x["to"]) for x in rec.get("refused", [])],
           [("Killed", "Completing")])
    last = rec["job_after"]["history"][-1]
    expect("refused entry in history", (last["Status"], last["Source"]), ("Killed", "JobWrapper(SM)"))
    expect("time_order is ms", isinstance(last["time_order"], float) and last["time_order"] > 1e12, True)
    before = len(rec["job_after"]["history"])

    r = call("setJobStatusBulk", [1, {"2030-01-01 00:00:01": {"ApplicationStatus": "fine", "Source": "JobWrapper"},
                                      "2030-01-01 00:00:02": {"MinorStatus": "it's here", "Source": "JobWrapper"},
                                      "2030-01-01 00:00:03": {"MinorStatus": "after", "Source": "JobWrapper"}}])
    expect("quote flaw: S_ERROR 1131", (r["OK"], r.get("Errno")), (False, 1131))
    expect("quote flaw: message", r.get("Message", "").startswith(
        "MySQL Error ( 1131 : Execution failed.: ( 1064: You have an error in your SQL syntax;"), True)
    expect("quote flaw: near text", "near 's here','idem','2030-01-01 00:00:02'," in r.get("Message", ""), True)
    rec = last_record(record, "setJobStatusBulk")
    expect("quote flaw: attributes set", (rec["job_after"]["MinorStatus"], rec["job_after"]["ApplicationStatus"]),
           ("after", "fine"))
    expect("quote flaw: only the entry before the quote in history", len(rec["job_after"]["history"]), before + 1)
    expect("time_order of a fixed stamp", rec["job_after"]["history"][-1]["time_order"], 1893456001000.0)

    r = call("setJobStatusBulk", [1, {"2029-12-31 23:59:59.000000": {"Status": "Done", "ApplicationStatus": "stale",
                                                                    "Source": "JobWrapper"}}])
    rec = last_record(record, "setJobStatusBulk")
    expect("older than the last logged status: OK", r["OK"], True)
    expect("older than the last logged status: attributes kept",
           (rec["job_after"]["Status"], rec["job_after"]["ApplicationStatus"]), ("Killed", "fine"))
    expect("older than the last logged status: logged", rec["job_after"]["history"][-1]["ApplicationStatus"], "stale")
    before += 1

    r = call("sendHeartBeat", [1, {}, {}])
    rec = last_record(record, "sendHeartBeat")
    expect("heartbeat reply", r, {"OK": True, "Value": {}})
    expect("heartbeat sets Running (from Killed)", rec["job_after"]["Status"], "Running")
    expect("heartbeat adds no history", len(rec["job_after"]["history"]), before + 1)

    with open(control, "w") as f:
        json.dump({"kill": [1]}, f)
    r = call("sendHeartBeat", [1, {}, {}])
    rec = last_record(record, "sendHeartBeat")
    expect("kill: heartbeat reply", r, {"OK": True, "Value": {"Kill": ""}})
    last = rec["job_after"]["history"][-1]
    expect("kill: JobManager record", (last["Status"], last["MinorStatus"], last["Source"]),
           ("Killed", "Marked for termination", "JobManager"))
    expect("kill: then Running", (rec["job_after"]["Status"], rec.get("killed")), ("Running", True))
    call("sendHeartBeat", [1, {}, {}])
    rec = last_record(record, "sendHeartBeat")
    expect("kill: only once", (len(rec["job_after"]["history"]), "killed" in rec), (before + 2, False))

    sb = os.path.join(work, "sb.tar.bz2")
    with open(sb, "wb") as f:
        f.write(b"sandbox bytes")
    sb_path = "/SandBox/p/pilot.testvo_user/abc/def/sb.tar.bz2"
    with open(control, "w") as f:
        json.dump({"sandboxes": {"SB:SandboxSE|" + sb_path: sb}}, f)
    first, data = download(pki, ports["diset"], sb_path)
    expect("v8 file id: bare path", (first, data), ({"OK": True, "Value": "Accepted"}, b"sandbox bytes"))
    first, _ = download(pki, ports["diset"], "dips://127.0.0.1:%d/WorkloadManagement/SandboxStore%s"
                        % (ports["diset"], sb_path))
    expect("v8 file id: other host refused", first,
           {"OK": False, "Errno": 0, "Message": "No sandbox matches the requirements"})
    first, data = download(pki, ports["diset"], "dips://localhost:%d/WorkloadManagement/SandboxStore%s"
                           % (ports["diset"], sb_path))
    expect("v8 file id: own URL", (first, data), ({"OK": True, "Value": "Accepted"}, b"sandbox bytes"))


def v9_checks(work, pki):
    control = os.path.join(work, "control9.json")
    with open(control, "w") as f:
        json.dump({}, f)
    server, ports, record = start_server(work, pki, "v9", control, "--v9")
    try:
        arguments = frame(fake_dirac.dencode(fake_dirac.S_OK([{"Site": "DIRAC.Test.ch", "CPUTime": 86400}])))
        _, match = diset(pki, ports["diset"], proposal_frame("WorkloadManagement/Matcher", "", "RPC", "requestJob"),
                         arguments)
        reply = json.loads(match.split(b":", 1)[1])
        value = reply.get("Value") or {}
        expect("v9 match (any setup, JSON)", (reply["OK"], value.get("Owner"), value.get("Group"), "DN" in value),
               (True, "owner", "testvo_user", False))
        form = {"method": "getStoredProxyStrength", "args": json.dumps(["owner", "testvo_user", None]),
                "clientVO": "testvo", "clientSetup": ""}
        status, body = https(pki, ports["https"], "Framework/TornadoProxyManager", form)
        r = json.loads(body)
        expect("v9 ProxyManager takes the user name", (status, r["OK"], isinstance(r.get("Value"), int)),
               (200, True, True))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()


def main():
    work = tempfile.mkdtemp(prefix="fake-dirac-wire-")
    pki = os.path.join(work, "pki")
    subprocess.run(["bash", os.path.join(HERE, "make-test-pki.sh"), pki], check=True, stdout=subprocess.DEVNULL)
    # The spec's capture submitted the job with the pilot's own identity: its owner fields.
    control = os.path.join(work, "control.json")
    with open(control, "w") as f:
        json.dump({"owners": {"1": {"DN": "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot", "Group": "testvo_user"}}}, f)
    server, ports, record = start_server(work, pki, "v8", control, "--jobs", "1")
    try:

        # dirac-wire.md section 4: the exact frames of requestJob, version v9.0.0.
        proposal = (b"108:ds2:OKb1s5:Valuells26:WorkloadManagement/Matchers10:Test-Setups6:testvoels3:RPC"
                    b"s10:requestJobes0:s6:v9.0.0ee")
        arguments = b"62:ds2:OKb1s5:Valuelds4:Sites13:DIRAC.Test.chs7:CPUTimei86400eeee"
        accepted, match = diset(pki, ports["diset"], proposal, arguments)
        expect("DISET proposal accepted: S_OK()", accepted, b"18:ds2:OKb1s5:Valuene")
        jdl = open(os.path.join(HERE, "fake_dirac.py")).read().split('JDL = """', 1)[1].split('"""', 1)[0] % 1
        value = (b"ds3:JDLs%d:%ss5:JobIDi1es2:DNs34:/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilots5:Groups11:testvo_user"
                 b"s21:PilotInfoReportedFlagb1e" % (len(jdl.encode()), jdl.encode()))
        expect("Matcher.requestJob match (section 6)", match, frame(b"ds2:OKb1s5:Value" + value + b"e"))
        _, nomatch = diset(pki, ports["diset"], proposal, arguments)
        expect("Matcher.requestJob no match: Errno 1510", nomatch,
               frame(b"ds2:OKb0s5:Errnoi1510es7:Messages25:No match found ( 1510 : )e"))

        # Section 5 and 6: HTTPS JobStateUpdate.
        path = "WorkloadManagement/TornadoJobStateUpdate"
        form = lambda method, args: {"method": method, "args": json.dumps(args), "clientVO": "testvo",
                                     "clientSetup": "Test-Setup"}
        status, body = https(pki, ports["https"], path, form("setJobParameters", [1, [["a", "1"], ["b", "2"], ["c", "3"]]]))
        expect("setJobParameters HTTP status", status, 200)
        expect("setJobParameters reply", body, b'{"OK": true, "Value": 3}')
        status, body = https(pki, ports["https"], path, form("setJobStatus", [99, "Running", "", "JobWrapper"]))
        expect("setJobStatus of an unknown job", body, b'{"OK": false, "Errno": 0, "Message": "No Matching Job"}')
        status, body = https(pki, ports["https"], path, form("sendHeartBeat", [1, {}, {}]))
        expect("sendHeartBeat reply", body, b'{"OK": true, "Value": {}}')
        status, _ = https(pki, ports["https"], path, {}, method="GET")
        expect("GET is refused", status, 405)
        status, body = https(pki, ports["https"], path, form("noSuchMethod", []))
        expect("unknown method", status, 501)
        expect("501 body is HTML", body.startswith(b"<html>"), True)

        behaviour_checks(work, pki, ports, record, control)
        v9_checks(work, pki)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait()
        subprocess.run(["rm", "-rf", work])
    for f in failures:
        print("MISMATCH " + f)
    print("fake_dirac wire check: %d mismatches" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
