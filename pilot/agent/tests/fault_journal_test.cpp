// The pilot SIGKILLed right after each of its durable writes (the "journal" failpoint of
// core/failpoint.hpp), then restarted on the same work directory (every other time killed again
// early in its recovery): every MC job of the local queue ends filed once, with one final status
// and the events its payload really made. CI runs a
// bounded sample of the steps; PILOT_JOURNAL_STEPS=all runs every one (see the README).
#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "agent_test_support.hpp"
#include "core/fs.hpp"
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
  std::vector<std::string> args() const {
    return run_args({"--set", "processors=2", "--set", "wall_limit_s=100000", "--set", "grace_s=5",
                     "--set", "heartbeat_s=0.5", "--set",
                     "drain_file=" + (dir.path() / "drain").string(), "--watch-period", "0.2"});
  }
};

// The first pilot dies after its n-th durable write; false when it ended before (no such step).
bool kill_at_step(const JournalRun& r, int n) {
  pilot::test::PilotProcess first(r.args(), r.dir.path(),
                                  {{"PILOT_FAILPOINT", "journal:" + std::to_string(n)}});
  auto rc = first.wait(60s);
  REQUIRE(rc);
  return *rc == 128 + SIGKILL;
}

// What the job's record says against what its payload left in its directory.
void check_filed_once(const JournalRun& r, const std::string& id) {
  auto st = r.show(id);
  INFO("job " << id << ": " << st.dump(1).substr(0, 3000));
  REQUIRE(st["state"] == "done");
  CHECK(st["status"] == "Done");
  std::multiset<std::string> finals;
  for (const auto& h : st["history"]) {
    auto s = h["status"].get<std::string>();
    if (s == "Done" || s == "Failed") finals.insert(s + "/" + h["minor_status"].get<std::string>());
  }
  CHECK(finals == std::multiset<std::string>{"Done/Execution Complete"});
  auto events = std::stoll(st["parameters"].value("NumberOfEvents", std::string("-1")));
  // The events of the attempt that was filed: its directory's output (an earlier attempt that
  // made nothing was set aside, lost_* or earlier_*).
  CHECK(events >= 1);
  CHECK(events == pilot::test::count_lines(r.work() / ("job_" + id) / "toymc.out"));
}

}  // namespace

TEST_CASE(
    "agent faults: a pilot SIGKILLed after each of its journal steps; the restarted pilot files "
    "every MC job once, with its events") {
  const char* steps = std::getenv("PILOT_JOURNAL_STEPS");
  bool all = steps && std::string(steps) == "all";
  // CI: steps 1 to 12 (claim, records, start) one by one, then every fifth.
  int checked = 0;
  for (int n = 1;; n += (all || n < 12) ? 1 : 5) {
    JournalRun r;
    auto a = r.submit_mc();
    auto b = r.submit_mc();
    if (!kill_at_step(r, n)) break;  // past the last step: the run ended by itself
    // The pilot recovering the jobs dies too, early in its recovery and filing (every other
    // time): the third files them as the second would have.
    int again = n % 2 ? 1 + (n / 2) % 4 : 0;
    INFO("killed after journal step " << n << ", its successor after step " << again);
    if (again) kill_at_step(r, again);
    pilot::test::PilotProcess second(r.args(), r.dir.path());
    auto rc = second.wait(90s);
    INFO(second.err().substr(0, 4000));
    REQUIRE(rc);
    CHECK(*rc == 0);
    check_filed_once(r, a);
    check_filed_once(r, b);
    ++checked;
    if (!all && checked >= 25) break;
  }
  CHECK(checked >= 10);
}
