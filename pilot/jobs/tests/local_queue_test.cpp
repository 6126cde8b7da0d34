#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/local_queue.hpp"

namespace fs = std::filesystem;
using namespace pilot::jobs;

namespace {

const char* kJob = R"([ Executable = "/bin/sh"; Arguments = "-c true"; CPUTime = 100;
  OutputSandbox = { "std.out", "result.txt", "missing.txt" }; XMLSummaryFile = "summary.xml" ])";

ResourceRequest offer() {
  ResourceRequest r;
  r.site = "LOCAL.test.ch";
  r.platform = "x86_64-el9";
  r.cpu_work_left_hs06s = 100000;
  r.processors = 2;
  r.max_ram_mb = 4096;
  return r;
}

LocalQueueOptions options(const fs::path& root) {
  LocalQueueOptions o;
  o.root = root;
  return o;
}

std::vector<std::string> ids_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

nlohmann::json status_of(const fs::path& root, const std::string& id) {
  auto s = show_job(root, id);
  REQUIRE(s);
  return *s;
}

// Claims until the queue is empty; returns the ids claimed.
std::vector<std::string> drain(const fs::path& root) {
  LocalQueue q(options(root));
  std::vector<std::string> got;
  while (auto job = q.request_job(offer())) got.push_back(job->id);
  return got;
}

// Claims a freshly submitted job in this process, then rewrites its status.json with `edit`, to
// make the claim look like another pilot's.
std::string claim_and_edit(const fs::path& root, const std::function<void(nlohmann::json&)>& edit) {
  auto id = submit_job(root, kJob, "job.jdl");
  LocalQueue q(options(root));
  REQUIRE(q.request_job(offer()));
  auto file = root / "running" / id / "status.json";
  auto s = nlohmann::json::parse(*pilot::read_file(file));
  edit(s);
  pilot::write_file_atomic(file, s.dump());
  return id;
}

}  // namespace

TEST_CASE("submit stores a pending job with an id that sorts by time") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path() / "q";
  auto a = submit_job(root, kJob, "a.jdl");
  auto b = submit_job(root, kJob, "b.jdl");
  CHECK(a != b);
  CHECK(a.size() == 27);
  CHECK(a < b);
  CHECK(ids_in(root / "pending") == std::vector<std::string>{std::min(a, b), std::max(a, b)});
  CHECK(*pilot::read_file(root / "pending" / a / "job.jdl") == kJob);
  auto s = status_of(root, a);
  CHECK(s["state"] == "pending");
  CHECK(s["status"] == "Waiting");
  CHECK(s["minor_status"] == "Job accepted");
  CHECK(s["executable"] == "/bin/sh");
  CHECK(s["history"].size() == 1);
  CHECK_THROWS_WITH(submit_job(root, "[ Executable = ]", "bad.jdl"),
                    Catch::StartsWith("bad.jdl:1:16: missing value"));
  CHECK(ids_in(root / "pending").size() == 2);
  CHECK(ids_in(root / "tmp").empty());
}

TEST_CASE("a claimed job is reported on and filed in done/ with logs, outputs and events") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path() / "q";
  auto id = submit_job(root, kJob, "job.jdl");
  LocalQueue q(options(root));
  CHECK(q.describe() == "queue " + root.string());
  auto job = q.request_job(offer());
  REQUIRE(job);
  CHECK(job->id == id);
  CHECK(job->jdl == kJob);
  CHECK(job->attributes["Processors"] == 1);
  CHECK_FALSE(q.request_job(offer()));

  auto s = status_of(root, id);
  CHECK(s["state"] == "running");
  CHECK(s["status"] == "Matched");
  CHECK(s["owner"]["pid"] == ::getpid());
  CHECK(s["owner"]["start_ticks"].get<long>() > 0);

  q.set_status(
      id, {"Running", "Job Initialization", "", std::chrono::system_clock::now(), "JobWrapper"});
  q.set_status(id,
               {"", "Application", "Gauss step 1", std::chrono::system_clock::now(), "JobWrapper"});
  q.set_parameters(id, {{"PayloadPID", "1234"}, {"TotalCPUTime(s)", "1.5"}});
  CHECK(q.heartbeat(id, {{"CPUConsumed", 1.5}, {"WallClockTime", 3.0}}).empty());
  CHECK(q.heartbeat(id, {{"CPUConsumed", 2.5}}).empty());

  pilot::TempDir work("work");
  std::string big(300000, 'x');
  pilot::write_file_atomic(work.path() / "std.out", "line 1\n" + big + "\nlast line\n");
  pilot::write_file_atomic(work.path() / "std.err", "");
  pilot::write_file_atomic(work.path() / "summary.xml", "<summary/>");
  pilot::write_file_atomic(work.path() / "pilot-job.log", "log text");
  pilot::write_file_atomic(work.path() / "result.txt", "42\n");
  q.set_status(id,
               {"Done", "Execution Complete", "", std::chrono::system_clock::now(), "JobWrapper"});
  q.finish_job(id, {work.path(), {{"exit_code", 0}, {"events", 137}}});

  CHECK(ids_in(root / "running").empty());
  s = status_of(root, id);
  CHECK(s["state"] == "done");
  CHECK(s["status"] == "Done");
  CHECK(s["minor_status"] == "Execution Complete");
  CHECK(s["application_status"] == "Gauss step 1");
  CHECK(s["parameters"]["PayloadPID"] == "1234");
  CHECK(s["heartbeat"]["count"] == 2);
  CHECK(s["heartbeat"]["data"]["CPUConsumed"] == 2.5);
  CHECK(s["events"] == 137);
  CHECK(s["finished"].is_string());
  std::vector<std::string> statuses;
  for (const auto& h : s["history"]) {
    statuses.push_back(h["status"].get<std::string>() + "/" + h["minor_status"].get<std::string>());
    CHECK_THAT(h["time"].get<std::string>(),
               Catch::Matches(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"));
  }
  CHECK(statuses == std::vector<std::string>{"Waiting/Job accepted", "Matched/Assigned",
                                             "Running/Job Initialization", "Running/Application",
                                             "Done/Execution Complete"});
  std::set<std::string> logs;
  for (const auto& l : s["logs"]) logs.insert(l["name"].get<std::string>());
  CHECK(logs == std::set<std::string>{"std.out", "std.err", "summary.xml", "pilot-job.log"});
  CHECK(fs::exists(root / "done" / id / "logs/std.out.zst"));
  CHECK(fs::file_size(root / "done" / id / "logs/std.out.zst") < 2000);  // compressed
  std::ostringstream out;
  CHECK(write_job_log(root, id, "std.out", out));
  CHECK(out.str() == "line 1\n" + big + "\nlast line\n");
  CHECK_FALSE(write_job_log(root, id, "nope.log", out));
  REQUIRE(s["outputs"].size() == 1);
  CHECK(s["outputs"][0]["name"] == "result.txt");
  CHECK(*pilot::read_file(root / "done" / id / "output/result.txt") == "42\n");
  REQUIRE(s["problems"].size() == 1);
  CHECK_THAT(s["problems"][0].get<std::string>(),
             Catch::Contains("OutputSandbox file 'missing.txt' not found in the job directory"));
  auto record = nlohmann::json::parse(*pilot::read_file(root / "done" / id / "job.json"));
  CHECK(record["exit_code"] == 0);

  CHECK_THROWS_WITH(q.set_status(id, {"Running", "", "", std::chrono::system_clock::now(), "x"}),
                    Catch::Contains("job " + id + " is not running in queue"));
}

TEST_CASE(
    "a job filed by a pilot killed before moving it to done/ keeps its one filing when reported "
    "again") {
  pilot::TempDir tmp("queue");
  auto id = submit_job(tmp.path(), kJob, "job.jdl");
  LocalQueue q(options(tmp.path()));
  REQUIRE(q.request_job(offer()));
  pilot::TempDir work("work");
  auto now = std::chrono::system_clock::now;
  q.set_status(id, {"Completing", "Application Finished Successfully", "", now(), "JobWrapper"});
  q.finish_job(id, {work.path(),
                    {{"exit_code", 0}},
                    std::nullopt,
                    StatusUpdate{"Done", "Execution Complete", "", now(), "JobWrapper"}});
  // What the kill between writing status.json and the rename leaves.
  fs::rename(tmp.path() / "done" / id, tmp.path() / "running" / id);

  // The pilot recovering the job reports it the same way again.
  q.set_parameters(id, {{"PayloadExitCode", "1"}});
  q.set_status(id, {"Completing", "Application Finished Successfully", "", now(), "JobWrapper"});
  q.finish_job(id, {work.path(),
                    {{"exit_code", 0}},
                    std::nullopt,
                    StatusUpdate{"Done", "Execution Complete", "", now(), "JobWrapper"}});
  auto s = status_of(tmp.path(), id);
  CHECK(s["state"] == "done");
  std::vector<std::string> statuses;
  for (const auto& h : s["history"])
    statuses.push_back(h["status"].get<std::string>() + "/" + h["minor_status"].get<std::string>());
  CHECK(statuses == std::vector<std::string>{"Waiting/Job accepted", "Matched/Assigned",
                                             "Completing/Application Finished Successfully",
                                             "Done/Execution Complete"});
  CHECK_FALSE(s["parameters"].contains("PayloadExitCode"));
}

TEST_CASE("a queue holds no jobs once every job is done, not while one is pending or running") {
  pilot::TempDir tmp("queue");
  LocalQueue q(options(tmp.path()));
  CHECK(q.holds_no_jobs());
  auto id = submit_job(tmp.path(), kJob, "job.jdl");
  CHECK_FALSE(q.holds_no_jobs());  // pending
  REQUIRE(q.request_job(offer()));
  CHECK_FALSE(q.holds_no_jobs());  // running
  pilot::TempDir work("work");
  q.finish_job(id, {work.path(), nlohmann::json::object()});
  CHECK(q.holds_no_jobs());  // done
}

TEST_CASE("logs longer than the limit keep their tail") {
  pilot::TempDir tmp("queue");
  auto id = submit_job(tmp.path(), kJob, "job.jdl");
  auto o = options(tmp.path());
  o.max_log_bytes = 100;
  LocalQueue q(o);
  REQUIRE(q.request_job(offer()));
  pilot::TempDir work("work");
  pilot::write_file_atomic(work.path() / "std.out", std::string(1000, 'a') + "THE END");
  q.finish_job(id, {work.path(), nlohmann::json::object()});
  auto s = status_of(tmp.path(), id);
  CHECK(s["logs"][0]["bytes"] == 1007);
  CHECK(s["logs"][0]["stored_bytes"] == 100);
  CHECK(s["logs"][0]["truncated"] == true);
  std::ostringstream out;
  write_job_log(tmp.path(), id, "std.out", out);
  CHECK(out.str() == std::string(93, 'a') + "THE END");
  CHECK(s["events"].is_null());
}

TEST_CASE("a finished job whose work directory vanished is still filed, with the problem") {
  pilot::TempDir tmp("queue");
  auto id = submit_job(tmp.path(), kJob, "job.jdl");
  LocalQueue q(options(tmp.path()));
  REQUIRE(q.request_job(offer()));
  q.finish_job(id, {tmp.path() / "no-such-dir", {{"events", 5}}});
  auto s = status_of(tmp.path(), id);
  CHECK(s["state"] == "done");
  CHECK(s["events"] == 5);
  CHECK_THAT(s["problems"][0].get<std::string>(),
             Catch::Contains("is missing: no logs or outputs collected"));
}

TEST_CASE("a job the node cannot run stays pending, the next matching one is taken") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto arm = submit_job(
      root, R"([ Executable = "/bin/sh"; CPUTime = 10; Platform = "aarch64-el9" ])", "arm");
  auto big = submit_job(
      root, R"([ Executable = "/bin/sh"; CPUTime = 10; NumberOfProcessors = 64 ])", "big");
  auto gpu = submit_job(root, R"([ Executable = "/bin/sh"; CPUTime = 10; Tags = "GPU" ])", "gpu");
  auto mem = submit_job(root, R"([ Executable = "/bin/sh"; CPUTime = 10; MaxRAM = 64000 ])", "mem");
  auto slow = submit_job(root, R"([ Executable = "/bin/sh"; CPUTime = 99999999 ])", "slow");
  auto fine = submit_job(
      root, R"([ Executable = "/bin/sh"; CPUTime = 10; Platform = "x86_64-el9" ])", "fine");
  auto o = options(root);
  std::vector<std::string> asked;
  o.platform_ok = [&](const std::string& p) {
    asked.push_back(p);
    return p == "x86_64-el9";
  };
  LocalQueue q(o);
  auto job = q.request_job(offer());
  REQUIRE(job);
  CHECK(job->id == fine);
  CHECK_FALSE(q.request_job(offer()));
  CHECK(ids_in(root / "pending") == [&] {
    std::vector<std::string> v{arm, big, gpu, mem, slow};
    std::sort(v.begin(), v.end());
    return v;
  }());
  CHECK(std::count(asked.begin(), asked.end(), "aarch64-el9") >= 1);
  for (const auto& id : {arm, big, gpu, mem, slow})
    CHECK(status_of(root, id)["status"] == "Waiting");

  // Another pilot with a bigger offer takes what this one left.
  auto r = offer();
  r.processors = 64;
  r.tags = {"GPU"};
  r.max_ram_mb = 128000;
  LocalQueue other(options(root));
  std::set<std::string> taken;
  while (auto j = other.request_job(r)) taken.insert(j->id);
  CHECK(taken == std::set<std::string>{big, gpu, mem});
}

TEST_CASE("higher Priority is claimed first, then submission order") {
  pilot::TempDir tmp("queue");
  auto low = submit_job(tmp.path(), R"([ Executable = "x"; CPUTime = 1; Priority = 1 ])", "a");
  auto high = submit_job(tmp.path(), R"([ Executable = "x"; CPUTime = 1; Priority = 5 ])", "b");
  auto low2 = submit_job(tmp.path(), R"([ Executable = "x"; CPUTime = 1 ])", "c");
  auto got = drain(tmp.path());
  REQUIRE(got.size() == 3);
  CHECK(got[0] == high);
  CHECK(got[1] == std::min(low, low2));
}

TEST_CASE("an invalid JDL dropped into pending/ is failed, not retried forever") {
  pilot::TempDir tmp("queue");
  auto id = submit_job(tmp.path(), kJob, "job.jdl");
  pilot::write_file_atomic(tmp.path() / "pending" / id / "job.jdl",
                           "[ Executable = \"x\"; CPUTime = \"soon\" ]");
  auto good = submit_job(tmp.path(), kJob, "good.jdl");
  LocalQueue q(options(tmp.path()));
  auto job = q.request_job(offer());
  REQUIRE(job);
  CHECK(job->id == good);
  auto s = status_of(tmp.path(), id);
  CHECK(s["state"] == "done");
  CHECK(s["status"] == "Failed");
  CHECK(s["minor_status"] == "Job description invalid");
  CHECK_THAT(s["application_status"].get<std::string>(), Catch::Contains("CPUTime"));
  CHECK_THAT(s["problems"][0].get<std::string>(), Catch::Contains("CPUTime"));
}

TEST_CASE("a missing queue directory is an error naming it") {
  pilot::TempDir tmp("queue");
  CHECK_THROWS_WITH(LocalQueue(options(tmp.path() / "nope")),
                    Catch::Contains("nope does not exist"));
  CHECK_THROWS_WITH(show_job(tmp.path(), "../etc"), Catch::Contains("is not a queue job id"));
  CHECK_FALSE(show_job(tmp.path(), "20260101-000000-000000-0000"));
}

TEST_CASE("four threads claiming from one queue get every one of 200 jobs exactly once") {
  pilot::TempDir tmp("queue");
  std::set<std::string> submitted;
  for (int i = 0; i < 200; ++i) submitted.insert(submit_job(tmp.path(), kJob, "job.jdl"));
  REQUIRE(submitted.size() == 200);
  std::vector<std::vector<std::string>> got(4);
  std::vector<std::thread> pilots;
  for (int t = 0; t < 4; ++t) pilots.emplace_back([&, t] { got[t] = drain(tmp.path()); });
  for (auto& p : pilots) p.join();
  std::multiset<std::string> all;
  for (const auto& g : got) all.insert(g.begin(), g.end());
  CHECK(all.size() == 200);
  CHECK(std::set<std::string>(all.begin(), all.end()) == submitted);
  CHECK(ids_in(tmp.path() / "pending").empty());
  CHECK(ids_in(tmp.path() / "running").size() == 200);
}

TEST_CASE("four processes claiming from one queue get every one of 200 jobs exactly once") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path() / "q";
  std::set<std::string> submitted;
  for (int i = 0; i < 200; ++i) submitted.insert(submit_job(root, kJob, "job.jdl"));
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int code = 0;
      try {
        std::string lines;
        for (const auto& id : drain(root)) lines += id + "\n";
        pilot::write_file_atomic(tmp.path() / ("claimed." + std::to_string(p)), lines);
      } catch (...) {
        code = 1;
      }
      ::_exit(code);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  std::multiset<std::string> all;
  std::set<pid_t> owners;
  for (int p = 0; p < 4; ++p) {
    std::istringstream in(*pilot::read_file(tmp.path() / ("claimed." + std::to_string(p))));
    for (std::string id; std::getline(in, id);) all.insert(id);
  }
  CHECK(all.size() == 200);
  CHECK(std::set<std::string>(all.begin(), all.end()) == submitted);
  for (const auto& id : submitted) owners.insert(status_of(root, id)["owner"]["pid"].get<pid_t>());
  CHECK(owners.size() >= 1);
  CHECK(owners.count(::getpid()) == 0);
}

namespace {

// A pilot process (a child) that claims a job of the queue with `o` and exits without finishing
// it; returns its pid, now a dead owner's.
pid_t claim_and_die(const LocalQueueOptions& o) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      LocalQueue q(o);
      ::_exit(q.request_job(offer()) ? 0 : 1);
    } catch (...) {  // a child that must not return into the test runner, whatever it threw
      ::_exit(2);
    }
  }
  int st = 0;
  REQUIRE(::waitpid(pid, &st, 0) == pid);
  REQUIRE(WEXITSTATUS(st) == 0);
  return pid;
}

// A job claimed by a pilot working in `work`, which then died: its id and the dead pilot's pid.
std::pair<std::string, pid_t> claimed_by_dead_pilot(const fs::path& root, const fs::path& work) {
  auto id = submit_job(root, kJob, "lost.jdl");
  auto o = options(root);
  o.pilot_workdir = work;
  return {id, claim_and_die(o)};
}

}  // namespace

TEST_CASE("recover requeues the job of a dead pilot and leaves a live one alone") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto stale = submit_job(root, kJob, "stale.jdl");
  // A pilot process claims the job and dies without finishing it.
  pid_t pid = claim_and_die(options(root));
  auto live = submit_job(root, kJob, "live.jdl");
  LocalQueue me(options(root));
  REQUIRE(me.request_job(offer())->id == live);

  RecoverOptions dry;
  dry.dry_run = true;
  auto actions = recover_jobs(root, dry);
  REQUIRE(actions.size() == 2);
  std::map<std::string, RecoverAction> by_id;
  for (const auto& a : actions) by_id[a.id] = a;
  CHECK(by_id[stale].verdict == "would be requeued");
  CHECK_THAT(by_id[stale].reason,
             Catch::Contains("pilot process " + std::to_string(pid) + " is gone"));
  CHECK(by_id[live].verdict == "alive");
  CHECK(status_of(root, stale)["state"] == "running");

  actions = recover_jobs(root, {});
  for (const auto& a : actions) by_id[a.id] = a;
  CHECK(by_id[stale].verdict == "requeued");
  auto s = status_of(root, stale);
  CHECK(s["state"] == "pending");
  CHECK(s["status"] == "Waiting");
  CHECK_THAT(s["minor_status"].get<std::string>(),
             Catch::StartsWith("Rescheduled: pilot ") && Catch::EndsWith(" lost"));
  CHECK(s["reschedules"] == 1);
  CHECK(s["owner"].is_null());
  CHECK(status_of(root, live)["state"] == "running");

  // It can be claimed again, and its history shows both claims.
  auto again = me.request_job(offer());
  REQUIRE(again);
  CHECK(again->id == stale);
  CHECK(status_of(root, stale)["history"].size() == 4);
}

TEST_CASE("recover holds a dead pilot's job that its work directory still holds") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto work = tmp.path() / "work";
  auto id = claimed_by_dead_pilot(root, work).first;
  CHECK(status_of(root, id)["owner"]["workdir"] == work.string());

  std::vector<std::pair<std::filesystem::path, std::string>> asked;
  RecoverOptions ro;
  ro.held_by_job_dir = [&](const std::filesystem::path& w, const std::string& job) {
    asked.emplace_back(w, job);
    return std::optional<std::string>("its payload's keeper (pid 1234) still runs");
  };
  auto actions = recover_jobs(root, ro);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0].verdict == "held");
  CHECK_THAT(actions[0].reason, Catch::Contains("keeper (pid 1234)"));
  CHECK(actions[0].pilot_workdir == work);
  REQUIRE(asked.size() == 1);
  CHECK(asked[0].first == work);
  CHECK(asked[0].second == id);
  CHECK(status_of(root, id)["state"] == "running");  // not requeued

  // Once the directory holds nothing of it, it is requeued as any lost pilot's job.
  ro.held_by_job_dir = [](const std::filesystem::path&, const std::string&) {
    return std::optional<std::string>();
  };
  actions = recover_jobs(root, ro);
  CHECK(actions[0].verdict == "requeued");
  CHECK(status_of(root, id)["state"] == "pending");
}

TEST_CASE("recover acts on other hosts' jobs only when they are silent for longer than asked") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto id = claim_and_edit(root, [](auto& s) { s["owner"]["host"] = "wn-elsewhere.example.org"; });

  auto a = recover_jobs(root, {});
  REQUIRE(a.size() == 1);
  CHECK(a[0].verdict == "unknown");
  CHECK(a[0].owner == "wn-elsewhere.example.org:" + std::to_string(::getpid()));
  CHECK_THAT(a[0].reason, Catch::Contains("use --older-than"));

  RecoverOptions hour;
  hour.older_than = std::chrono::hours(1);
  CHECK(recover_jobs(root, hour)[0].verdict == "unknown");

  RecoverOptions now;
  now.older_than = std::chrono::seconds(0);
  CHECK(recover_jobs(root, now)[0].verdict == "requeued");
  CHECK(status_of(root, id)["state"] == "pending");
}

TEST_CASE("recover fails a job that was rescheduled too often, a damaged count counts as none") {
  // A count out of any integer's range must not be cast unchecked: none, and requeued.
  auto [count, verdict] = GENERATE(table<nlohmann::json, std::string>(
      {{nlohmann::json(3), "failed"}, {nlohmann::json(2.5e40), "requeued"}}));
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto id = claim_and_edit(root, [count = count](auto& s) {
    s["owner"]["pid"] = 0;  // no such process
    s["reschedules"] = count;
  });
  auto a = recover_jobs(root, {});
  REQUIRE(a.size() == 1);
  CHECK(a[0].verdict == verdict);
  auto s = status_of(root, id);
  if (verdict == "requeued") {
    CHECK(s["reschedules"] == 1);
    return;
  }
  CHECK(s["state"] == "done");
  CHECK(s["status"] == "Failed");
  CHECK(s["minor_status"] == "Maximum of reschedulings reached");
}

TEST_CASE("kill: a pending job is filed as Killed, a running one gets a Kill command") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto first = submit_job(root, kJob, "a.jdl");
  LocalQueue q(options(root));
  REQUIRE(q.request_job(offer())->id == first);
  auto second = submit_job(root, kJob, "b.jdl");
  CHECK(kill_job(root, second) == "pending");
  CHECK(status_of(root, second)["status"] == "Killed");
  CHECK(status_of(root, second)["state"] == "done");
  CHECK(kill_job(root, second) == "done");
  CHECK(q.heartbeat(first, nlohmann::json::object()).empty());
  CHECK(kill_job(root, first) == "running");
  auto commands = q.heartbeat(first, nlohmann::json::object());
  REQUIRE(commands.size() == 1);
  CHECK(commands[0].name == "Kill");
  CHECK_THROWS_WITH(kill_job(root, "20260101-000000-000000-0000"), Catch::Contains("no job"));
}

TEST_CASE("a pilot adopts a dead pilot's running job: it becomes its owner, the job stays put") {
  pilot::TempDir tmp("queue");
  auto root = tmp.path();
  auto work = tmp.path() / "work";
  auto [id, lost] = claimed_by_dead_pilot(root, work);

  auto mine = options(root);
  mine.pilot_workdir = tmp.path() / "work2";
  LocalQueue q(mine);
  CHECK_FALSE(q.adopt_job("20990101-000000-000000-abcd", work / "job_x"));  // no such job
  REQUIRE(q.adopt_job(id, work / ("job_" + id)));
  auto s = status_of(root, id);
  CHECK(s["state"] == "running");
  CHECK(s["owner"]["pid"] == ::getpid());
  CHECK(s["owner"]["workdir"] == work.string());  // where its job directory is
  CHECK(s["owner"]["pid"] != lost);
  // Owned by a live pilot now: no other pilot takes it over, no recovery requeues it.
  LocalQueue other(mine);
  CHECK_FALSE(other.adopt_job(id, work / ("job_" + id)));
  auto a = recover_jobs(root, {});
  REQUIRE(a.size() == 1);
  CHECK(a[0].verdict == "alive");
}
