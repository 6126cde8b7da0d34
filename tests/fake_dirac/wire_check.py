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


def main():
    work = tempfile.mkdtemp(prefix="fake-dirac-wire-")
    pki = os.path.join(work, "pki")
    subprocess.run(["bash", os.path.join(HERE, "make-test-pki.sh"), pki], check=True, stdout=subprocess.DEVNULL)
    ports_file = os.path.join(work, "ports.json")
    # The spec's capture submitted the job with the pilot's own identity: its owner fields.
    control = os.path.join(work, "control.json")
    with open(control, "w") as f:
        json.dump({"owners": {"1": {"DN": "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot", "Group": "testvo_user"}}}, f)
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_dirac.py"), "--pki", pki,
                               "--port-file", ports_file, "--record", os.path.join(work, "calls.jsonl"),
                               "--control", control, "--jobs", "1"])
    try:
        for _ in range(300):
            if os.path.exists(ports_file):
                break
            time.sleep(0.05)
        ports = json.load(open(ports_file))

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
