#!/usr/bin/env python3
"""Stands for DIRAC's dirac-jobexec in the pilot's tests (Python 3 standard library only). A test
tree standing for CVMFS installs it as <runtime>/bin/dirac-jobexec. It behaves as
../shared/spec/dirac-runtime.md measured the real one on DIRAC v8.0.55:

- Usage: dirac-jobexec WORKFLOW [-o Name=Value]... The workflow file stands for jobDescription.xml:
  one step per line, "<executable> <arguments>" as shell words; blank lines and # comments skipped.
  A missing workflow file: exit 1.
- Configuration: $DIRACSYSCONFIG (diraccfg syntax), "-o" options win. /DIRAC/Setup is mandatory
  (exit 1, "Missing mandatory local configuration option /DIRAC/Setup"). The JobStateUpdate URL is
  /Systems/WorkloadManagement/<instance>/URLs/JobStateUpdate with the instance from
  /DIRAC/Setups/<Setup>/WorkloadManagement (or /Systems/WorkloadManagement/URLs/JobStateUpdate with
  /DIRAC/NoSetup = True).
- Reports: only ApplicationStatus, with source Job_<JOBID>: "Executing RunScriptStep<N>" before each
  step, then "<exe> successful" or "<exe> Exited With Status <N>", through setJobApplicationStatus
  over HTTPS with $X509_USER_PROXY as the client certificate and $X509_CERT_DIR (or
  /DIRAC/Security/CALocation) as the CAs. Without JOBID, a proxy, the CAs or the URL, or with
  REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE set, nothing reaches the server and it still exits 0.
- Steps run one after the other as direct children in its process group, output (both streams)
  to Script<N>_<basename of the executable>.log. Later steps run after a failed one.
- Exit: 0; the last failing step's exit code & 255; S for a step killed by signal S; 232 when a
  step's executable cannot start; 1 for a configuration error or SIGINT (KeyboardInterrupt: its
  last report is "KeyboardInterrupt()", and it does not wait for the running step). SIGUSR1 and
  SIGTERM keep their default action: it dies of them, the step runs on.

For the tests it also writes, in its working directory: jobexec-seen.txt ("arg [<a>]" per
argument, then its sorted environment), jobexec-cfg.txt (a copy of $DIRACSYSCONFIG) and
jobexec-reports.txt (each report and the server's answer, or why none was sent).
"""

import http.client
import json
import os
import shlex
import ssl
import subprocess
import sys
import urllib.parse


class Cfg:
    """The options of a diraccfg file, as {"/Section/Sub/option": "value"}."""

    def __init__(self):
        self.values = {}

    def read(self, text):
        path, pending = [], None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.endswith("{"):
                name = line[:-1].strip() or pending
                path.append(name)
                pending = None
            elif line == "}":
                path.pop()
            elif "=" in line:
                key, value = line.split("=", 1)
                self.values["/" + "/".join(path + [key.strip()])] = value.strip()
            else:
                pending = line

    def get(self, option, default=""):
        return self.values.get(option, default)


def log(name, text):
    with open(name, "a") as f:
        f.write(text + "\n")


def record_what_was_given(args):
    with open("jobexec-seen.txt", "w") as f:
        for a in args:
            f.write("arg [%s]\n" % a)
        for k in sorted(os.environ):
            f.write("%s=%s\n" % (k, os.environ[k]))


def configuration(args):
    cfg = Cfg()
    cfg_file = os.environ.get("DIRACSYSCONFIG", "")
    if cfg_file and os.path.exists(cfg_file):
        with open(cfg_file) as f:
            text = f.read()
        with open("jobexec-cfg.txt", "w") as f:
            f.write(text)
        cfg.read(text)
    rest, i = [], 0
    while i < len(args):
        if args[i] == "-o" and i + 1 < len(args):
            key, _, value = args[i + 1].partition("=")
            cfg.values[key if key.startswith("/") else "/DIRAC/" + key] = value
            i += 2
        else:
            rest.append(args[i])
            i += 1
    return cfg, rest


def job_state_update_url(cfg):
    if cfg.get("/DIRAC/NoSetup") in ("True", "true", "yes"):
        return cfg.get("/Systems/WorkloadManagement/URLs/JobStateUpdate")
    instance = cfg.get("/DIRAC/Setups/%s/WorkloadManagement" % cfg.get("/DIRAC/Setup"))
    return cfg.get("/Systems/WorkloadManagement/%s/URLs/JobStateUpdate" % instance) if instance else ""


class Reporter:
    def __init__(self, cfg):
        self.cfg = cfg
        self.job = os.environ.get("JOBID", "")
        self.url = job_state_update_url(cfg).split(",")[0].strip()
        self.proxy = os.environ.get("X509_USER_PROXY", "")
        self.cas = os.environ.get("X509_CERT_DIR") or cfg.get("/DIRAC/Security/CALocation")

    def why_not(self):
        if not self.job:
            return "no JOBID: a local job reports nothing"
        if not self.url:
            return "Cannot get URL for WorkloadManagement/JobStateUpdate"
        if not self.proxy or not os.path.exists(self.proxy):
            return "No proxy found"
        if not self.cas or not os.path.isdir(self.cas):
            return "No CAs found!"
        for bundle in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            if os.environ.get(bundle):
                return "%s is set: the server's certificate fails verification" % bundle
        if not self.url.startswith("https://"):
            return "this stand-in reports over HTTPS only: " + self.url
        return None

    def application_status(self, status):
        why = self.why_not()
        if why:
            log("jobexec-reports.txt", "%s: not sent (%s)" % (status, why))
            return
        u = urllib.parse.urlparse(self.url)
        form = urllib.parse.urlencode({
            "method": "setJobApplicationStatus",
            "args": json.dumps([int(self.job), status, "Job_" + self.job]),
            "clientVO": self.cfg.get("/DIRAC/VirtualOrganization"),
            "clientSetup": self.cfg.get("/DIRAC/Setup")}).encode()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(capath=self.cas)
        ctx.load_cert_chain(self.proxy)
        try:
            conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=30, context=ctx)
            conn.request("POST", u.path, form, {"Content-Type": "application/x-www-form-urlencoded"})
            answer = conn.getresponse().read().decode(errors="replace")
            conn.close()
            log("jobexec-reports.txt", "%s: %s" % (status, answer))
        except (OSError, ssl.SSLError, http.client.HTTPException) as e:
            log("jobexec-reports.txt", "%s: failed (%s)" % (status, e))


def read_steps(workflow):
    with open(workflow) as f:
        lines = [line.strip() for line in f]
    return [shlex.split(line) for line in lines if line and not line.startswith("#")]


def run_step(n, argv, reporter):
    exe = os.path.basename(argv[0])
    reporter.application_status("Executing RunScriptStep%d" % n)
    with open("Script%d_%s.log" % (n, exe), "wb") as out:
        # A sandboxed executable runs as $PWD/<name>; any other name is looked up on PATH.
        local = "/" not in argv[0] and os.path.exists(argv[0])
        command = [os.path.join(os.getcwd(), argv[0])] + argv[1:] if local else argv
        try:
            step = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        except OSError as e:
            reporter.application_status("%s Exited With Status 232" % exe)
            log("Script%d_%s.log" % (n, exe), "cannot start %s: %s" % (argv[0], e))
            return 232
        code = step.wait()
    status = -code if code < 0 else code & 255
    reporter.application_status("%s successful" % exe if status == 0 else "%s Exited With Status %d" % (exe, status))
    return status


def main(args):
    record_what_was_given(args)
    cfg, rest = configuration(args)
    if not cfg.get("/DIRAC/Setup") and cfg.get("/DIRAC/NoSetup") not in ("True", "true", "yes"):
        print("Missing mandatory local configuration option /DIRAC/Setup", file=sys.stderr)
        return 1
    if not rest or not os.path.exists(rest[0]):
        print("cannot read the workflow %s" % (rest[0] if rest else "(none given)"), file=sys.stderr)
        return 1
    reporter = Reporter(cfg)
    why = reporter.why_not()
    if why:
        log("jobexec-reports.txt", "reports will not reach the server: " + why)
    last_failure = 0
    try:
        for n, argv in enumerate(read_steps(rest[0]), start=1):
            status = run_step(n, argv, reporter)
            if status:
                last_failure = status
    except KeyboardInterrupt:
        reporter.application_status("KeyboardInterrupt()")
        return 1
    return last_failure


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
