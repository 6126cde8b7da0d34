// Fault injection: the disk fills during a job. The pilot's work directory is a small tmpfs in a
// private mount namespace (unshare -m, as root), the local queue stays on the normal disk; the
// payload writes until the file system is full, then keeps running. The job must fail with
// DIRAC's watchdog reason, be reported, and the pilot's own records must be complete (or their
// loss named on stderr).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "output_files.hpp"
#include "run_pilot.hpp"

using nlohmann::json;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

TEST_CASE(
    "agent faults: the disk fills during a job: it fails with the watchdog's reason and is "
    "reported") {
  pilot::agent::test::LocalQueue q("pilot-fault-disk");
  auto work = q.work(), copy = q.dir.path() / "work-after";
  fs::create_directories(work);
  auto id = q.submit(
      "[ Executable = \"/bin/sh\"; Arguments = \"-c 'echo filling; "
      "dd if=/dev/zero of=fill bs=64k 2>/dev/null; echo full; sleep 30'\"; CPUTime = 600; ]");

  // The tmpfs exists only inside the namespace: what the pilot left there is copied out at the end.
  std::string script =
      "mount -t tmpfs -o size=24m pilot-fault-disk \"$1\" || exit 90; w=$1; out=$2; shift 2; "
      "\"$@\"; rc=$?; cp -a \"$w/.\" \"$out/\"; exit $rc";
  fs::create_directories(copy);
  std::vector<std::string> argv{"unshare",
                                "-m",
                                "--propagation",
                                "private",
                                "sh",
                                "-c",
                                script,
                                "sh",
                                work.string(),
                                copy.string(),
                                pilot::test::pilot_binary()};
  // 16 MB of the 24 MB tmpfs must stay free: the payload's dd fills it past that.
  auto run =
      q.run_args({"--set", "min_free_disk_mb=16", "--set", "heartbeat_s=0.4", "--set",
                  "drain_file=" + (q.dir.path() / "drain").string(), "--watch-period", "0.5"});
  argv.insert(argv.end(), run.begin(), run.end());
  pilot::CommandOptions opts;
  opts.timeout = std::chrono::seconds(90);
  auto r = pilot::run_command(argv, opts);
  REQUIRE(r);
  INFO(r->err);
  REQUIRE(r->exit_code);
  REQUIRE(*r->exit_code != 90);  // the namespace and the tmpfs could be made (root, CI)
  CHECK(*r->exit_code == 0);
  auto summary = pilot::test::last_json_line(r->out);
  CHECK(summary["jobs_failed"] == 1);

  // Reported, with DIRAC's reason.
  auto st = q.show(id);
  INFO(st.dump(1));
  CHECK(st["state"] == "done");
  CHECK(st["status"] == "Failed");
  CHECK(st["minor_status"] == "Job has insufficient disk space to continue");
  CHECK(st["parameters"].contains("WallClockTime(s)"));

  // The wrapper's record on the full disk is the final one, complete.
  auto job_dir = copy / ("job_" + id);
  auto text = pilot::read_file(job_dir / "job.json");
  REQUIRE(text);
  auto rec = json::parse(*text);
  CHECK(rec["state"] == "finished");
  CHECK(rec["reason"] == "disk_space");
  // The wrapper's own log ends with the job's end, not cut off by the full disk.
  auto log = pilot::read_file(job_dir / "pilot-job.log").value_or("");
  CHECK(log.find("job finished") != std::string::npos);
  // The queue kept the payload's output.
  CHECK(st["logs"].dump().find("std.out") != std::string::npos);
}
