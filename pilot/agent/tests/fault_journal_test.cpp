// The pilot SIGKILLed right after each of its durable writes (the "journal" failpoint of
// core/failpoint.hpp), then restarted on the same work directory (every other time killed again
// early in its recovery) or, every third time, on a new one over the same queue: every job of
// the local queue ends filed once, with one final status, the events its payload really made
// (MC) or its exit code (plain), and no payload ran twice, whether the restarted pilot adopted a
// payload that still ran or recovered what it left. CI runs a bounded sample of the steps;
// PILOT_JOURNAL_STEPS=all runs every one (see the README).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
#include "core/number.hpp"
#include "output_files.hpp"
#include "pilot_process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct JournalRun : pilot::agent::test::LocalQueue {
  JournalRun() : LocalQueue("pilot-fault-journal") {}
  std::string submit_mc() const {
    return submit("[ Executable = \"" + std::string(TOYMC_BIN) +
                  "\"; Arguments = \"--cpu-ms-per-event 10\"; JobType = \"MCSimulation\";"
                  " CPUTime = 600; CPUe = 1; MaxNumberOfEvents = 30; ]");
  }
  // A plain job: a script that counts its runs in <dir>/<name>, sleeps `sleep_s` and exits with
  // `exit_code`.
  std::string submit_plain(const std::string& name, int exit_code, int sleep_s = 0) const {
    auto script = pilot::test::write_counting_script(
        dir.path(), name,
        (sleep_s ? "sleep " + std::to_string(sleep_s) + "; " : "") + "exit " +
            std::to_string(exit_code));
    return submit("[ Executable = \"/bin/sh\"; Arguments = \"" + script.string() +
                  "\"; CPUTime = 600 ]");
  }
  fs::path work2() const { return dir.path() / "work2"; }
  std::vector<std::string> args(const fs::path& work = {}) const {
    auto a = run_args({"--set", "processors=2", "--set", "wall_limit_s=100000", "--set",
                       "grace_s=5", "--set", "heartbeat_s=0.5", "--set",
                       "drain_file=" + (dir.path() / "drain").string(), "--watch-period", "0.2"});
    return work.empty() ? a : pilot::agent::test::with_workdir(a, work);
  }
};

// The first pilot dies after its n-th durable write; false when it ended before (no such step).
bool kill_at_step(const JournalRun& r, int n, const fs::path& work = {}) {
  pilot::test::PilotProcess first(r.args(work), r.dir.path(),
                                  {{"PILOT_FAILPOINT", "journal:" + std::to_string(n)}});
  auto rc = first.wait(60s);
  REQUIRE(rc);
  return *rc == 128 + SIGKILL;
}

// The final statuses in a job's history.
std::multiset<std::string> final_statuses(const nlohmann::json& st) {
  std::multiset<std::string> finals;
  for (const auto& h : st["history"]) {
    auto s = h["status"].get<std::string>();
    if (s == "Done" || s == "Failed") finals.insert(s + "/" + h["minor_status"].get<std::string>());
  }
  return finals;
}

// The job directory of the attempt that was filed, from the wrapper's record filed with it: the
// first pilot's work directory or the new one's.
fs::path filed_job_dir(const JournalRun& r, const std::string& id) {
  auto rec = nlohmann::json::parse(pilot::read_file(r.queue() / "done" / id / "job.json").value());
  return rec.at("workdir").get<std::string>();
}

// What the job's record says against what its payload left in its directory.
void check_filed_once(const JournalRun& r, const std::string& id) {
  auto st = r.show(id);
  INFO("job " << id << ": " << st.dump(1).substr(0, 3000));
  REQUIRE(st["state"] == "done");
  CHECK(st["status"] == "Done");
  CHECK(final_statuses(st) == std::multiset<std::string>{"Done/Execution Complete"});
  pilot::agent::test::check_history_in_time_order(st);
  auto events = std::stoll(st["parameters"].value("NumberOfEvents", std::string("-1")));
  // The events of the attempt that was filed: its directory's output (an earlier attempt that
  // made nothing was set aside, lost_* or earlier_*).
  CHECK(events >= 1);
  CHECK(events == pilot::test::count_lines(filed_job_dir(r, id) / "toymc.out"));
}

// A plain job: filed once with the status of the exit its payload really had, run once.
void check_plain_filed_once(const JournalRun& r, const std::string& id, const std::string& name,
                            int exit_code) {
  auto st = r.show(id);
  INFO("job " << id << ": " << st.dump(1).substr(0, 3000));
  REQUIRE(st["state"] == "done");
  auto finals = final_statuses(st);
  CHECK(finals.size() == 1);
  CHECK(st["status"] == (exit_code == 0 ? "Done" : "Failed"));
  pilot::agent::test::check_history_in_time_order(st);
  auto rec = nlohmann::json::parse(pilot::read_file(r.queue() / "done" / id / "job.json").value());
  CHECK(rec["exit_code"] == exit_code);
  // It ran, and at most once more for each time it was handed back (a payload caught as it
  // started and stopped by a recovering pilot runs again: it made nothing), never beside itself.
  auto runs = std::stoi(pilot::read_file(r.dir.path() / name).value_or("0"));
  CHECK(runs >= 1);
  CHECK(runs <= 1 + st.value("reschedules", 0));
}

}  // namespace

TEST_CASE(
    "agent faults: a pilot SIGKILLed after each of its journal steps, the restarted pilot files "
    "every MC job once, with its events") {
  const char* steps = std::getenv("PILOT_JOURNAL_STEPS");
  bool all = steps && std::string(steps) == "all";
  // PILOT_JOURNAL_STEPS=<n>: that step alone (to chase one step's failure).
  int only = 0;  // 0: not one step alone
  if (steps && *steps && !all) only = pilot::whole_number<int>(steps).value_or(0);
  if (steps && *steps && !all && only < 1)
    FAIL("PILOT_JOURNAL_STEPS='" << steps << "' is neither 'all' nor a step number");
  // CI: steps 1 to 12 (claim, records, start) one by one, then every fifth.
  int checked = 0, adopted = 0;
  for (int n = only ? only : 1;; n += (all || n < 12) ? 1 : 5) {
    JournalRun r;
    auto a = r.submit_mc();
    auto b = r.submit_mc();
    // It outlives a restart (the MC jobs take a fraction of a second), so that some of the
    // steps kill the pilot while it runs and its successor takes it over, on any machine load.
    auto ok = r.submit_plain("ok", 0, 1);
    auto bad = r.submit_plain("bad", 3);
    if (!kill_at_step(r, n)) break;  // past the last step: the run ended by itself
    // The pilot recovering the jobs dies too, early in its recovery and filing (every other
    // time): the third files them as the second would have. Every third time they start on a
    // new work directory, as pilot-bootstrap.sh does on every start.
    int again = n % 2 ? 1 + (n / 2) % 4 : 0;
    fs::path work = n % 3 == 0 ? r.work2() : fs::path();
    INFO("killed after journal step " << n << ", its successor after step " << again
                                      << (work.empty() ? "" : ", both on a new work directory"));
    if (again) kill_at_step(r, again, work);
    pilot::test::PilotProcess second(r.args(work), r.dir.path());
    auto rc = second.wait(90s);
    // Its last lines: a pilot that does not end shows there what it waits for.
    auto err = second.err();
    INFO(err.substr(err.size() > 6000 ? err.size() - 6000 : 0));
    REQUIRE(rc);
    CHECK(*rc == 0);
    adopted += pilot::test::last_json_line(second.out()).value("jobs_adopted", 0);
    check_filed_once(r, a);
    check_filed_once(r, b);
    check_plain_filed_once(r, ok, "ok", 0);
    check_plain_filed_once(r, bad, "bad", 3);
    ++checked;
    if (only || (!all && checked >= 25)) break;
  }
  if (only) return;
  CHECK(checked >= 10);
  // Killed while payloads ran, the pilot leaves jobs its successor takes over: that path too.
  CHECK(adopted >= 1);
  WARN("journal steps checked: " << checked << ", jobs adopted by the last pilots: " << adopted);
}
