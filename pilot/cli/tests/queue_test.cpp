// `pilot queue` end to end: submit, list, show, kill and recover, and what it refuses.
#include <catch2/catch.hpp>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "jobs/local_queue.hpp"
#include "run_pilot.hpp"

namespace fs = std::filesystem;
using pilot::test::run_pilot;

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string job(const std::string& extra) {
  return "[ Executable = \"/bin/true\"; " + extra + " ]";
}

}  // namespace

TEST_CASE("pilot queue submit, list and show through the command line") {
  pilot::TempDir tmp("queue-cli");
  auto queue = (tmp.path() / "q").string();
  auto demo = fs::path(PILOT_SOURCE_DIR) / "pilot/jobs/demo";

  auto sub = run_pilot({"queue", "submit", "--queue", queue, (demo / "hello.jdl").string()});
  REQUIRE(sub.exit_code == 0);
  auto id = trimmed(sub.out);
  CHECK_THAT(id, Catch::Matches(R"(\d{8}-\d{6}-\d{6}-[0-9a-f]{4})"));
  auto sub2 =
      run_pilot({"queue", "submit", "--queue", queue, (demo / "interruptible-mc.jdl").string()});
  REQUIRE(sub2.exit_code == 0);

  auto list = run_pilot({"queue", "list", "--queue", queue});
  REQUIRE(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::StartsWith("ID ") &&
                           Catch::Contains(id + "  pending  Waiting / Job accepted") &&
                           Catch::Contains("/bin/sh"));

  auto json = run_pilot({"queue", "list", "--queue", queue, "--json"});
  REQUIRE(json.exit_code == 0);
  auto arr = nlohmann::json::parse(json.out);
  REQUIRE(arr.size() == 2);
  CHECK(arr[0]["id"] == id);
  CHECK(arr[0]["state"] == "pending");
  CHECK(arr[1]["job_name"] == "demo-interruptible-mc");

  // The queue directory also comes from PILOT_QUEUE.
  auto show = run_pilot({"queue", "show", id}, {{"PILOT_QUEUE", queue}});
  REQUIRE(show.exit_code == 0);
  auto j = nlohmann::json::parse(show.out);
  CHECK(j["id"] == id);
  CHECK(j["state"] == "pending");
  CHECK(j["status"] == "Waiting");
  CHECK(j["history"].size() == 1);
  CHECK(j["parameters"].is_object());
  CHECK(j["events"].is_null());
  CHECK(j["logs"].is_array());
  CHECK_THAT(j["jdl"].get<std::string>(), Catch::Contains("demo-hello"));
}

TEST_CASE("pilot queue show --log prints a finished job's log") {
  pilot::TempDir tmp("queue-cli");
  auto id = pilot::jobs::submit_job(tmp.path(), "[ Executable = \"/bin/sh\"; CPUTime = 1 ]", "x");
  pilot::jobs::LocalQueueOptions o;
  o.root = tmp.path();
  pilot::jobs::LocalQueue q(o);
  pilot::jobs::ResourceRequest r;
  REQUIRE(q.request_job(r));
  pilot::TempDir work("work");
  pilot::write_file_atomic(work.path() / "std.out", "hello\nworld\n");
  q.finish_job(id, {work.path(), nlohmann::json::object()});
  auto log = run_pilot({"queue", "show", "--queue", tmp.path().string(), id, "--log", "std.out"});
  CHECK(log.exit_code == 0);
  CHECK(log.out == "hello\nworld\n");
  auto none = run_pilot({"queue", "show", "--queue", tmp.path().string(), id, "--log", "std.err"});
  CHECK(none.exit_code == 1);
  CHECK_THAT(none.err, Catch::Contains("has no log named std.err"));
}

TEST_CASE("pilot queue rejects bad input with one clear line") {
  pilot::TempDir tmp("queue-cli");
  auto queue = (tmp.path() / "q").string();
  auto bad = tmp.path() / "bad.jdl";
  pilot::write_file_atomic(bad,
                           "[\n  Executable = \"/bin/sh\";\n  CPUTime = 10\n  Priority = 2;\n]\n");
  auto r = run_pilot({"queue", "submit", "--queue", queue, bad.string()});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  CHECK(r.err == "pilot queue: error: " + bad.string() +
                     ":4:3: expected an operator or ';' between '10' and 'Priority' (in attribute "
                     "'CPUTime')\n");
  CHECK_FALSE(fs::exists(tmp.path() / "q" / "pending"));

  auto missing =
      run_pilot({"queue", "submit", "--queue", queue, (tmp.path() / "nope.jdl").string()});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("no such file: ") && Catch::Contains("nope.jdl"));

  auto junk = tmp.path() / "junk.jdl";
  pilot::write_file_atomic(junk, std::string("\x7f"
                                             "ELF\x02\x01\x01\0\0\0",
                                             10));
  auto j = run_pilot({"queue", "submit", "--queue", queue, junk.string()});
  CHECK(j.exit_code == 1);
  CHECK_THAT(j.err, Catch::Contains("junk.jdl:1:1: unexpected character '\\x7f'"));

  auto show = run_pilot({"queue", "show", "--queue", queue, "20260101-000000-000000-0000"});
  CHECK(show.exit_code == 1);
  CHECK_THAT(show.err, Catch::Contains("no job 20260101-000000-000000-0000"));
  auto evil = run_pilot({"queue", "show", "--queue", queue, "../../etc"});
  CHECK(evil.exit_code == 1);
  CHECK_THAT(evil.err, Catch::Contains("is not a queue job id"));
  auto noqueue = run_pilot({"queue", "list"});
  CHECK(noqueue.exit_code == 2);
  CHECK_THAT(noqueue.err, Catch::Contains("--queue"));
  auto absent = run_pilot({"queue", "list", "--queue", (tmp.path() / "absent").string()});
  CHECK(absent.exit_code == 1);
  CHECK_THAT(absent.err, Catch::Contains("absent does not exist"));
}

TEST_CASE("pilot queue submit reads standard input with '-' and names it in errors") {
  pilot::TempDir tmp("queue-cli");
  // run_pilot gives the child an empty standard input (/dev/null).
  auto r = run_pilot({"queue", "submit", "--queue", tmp.path().string(), "-"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("standard input:1:1: empty job description"));
}

TEST_CASE("pilot queue recover and kill through the command line") {
  pilot::TempDir tmp("queue-cli");
  auto queue = tmp.path().string();
  auto none = run_pilot({"queue", "recover", "--queue", queue});
  CHECK(none.exit_code == 1);  // not a queue yet
  auto id = pilot::jobs::submit_job(tmp.path(), "[ Executable = \"/bin/sh\"; CPUTime = 1 ]", "x");
  auto empty = run_pilot({"queue", "recover", "--queue", queue});
  CHECK(empty.exit_code == 0);
  CHECK(empty.out == "no running jobs\n");

  // A job whose recorded owner process does not exist (pid 0), as after a pilot crash.
  pilot::jobs::LocalQueueOptions o;
  o.root = tmp.path();
  pilot::jobs::LocalQueue q(o);
  REQUIRE(q.request_job({}));
  auto status_file = tmp.path() / "running" / id / "status.json";
  auto s = nlohmann::json::parse(*pilot::read_file(status_file));
  s["owner"]["pid"] = 0;
  pilot::write_file_atomic(status_file, s.dump());

  auto dry = run_pilot({"queue", "recover", "--queue", queue, "--dry-run", "--json"});
  REQUIRE(dry.exit_code == 0);
  auto actions = nlohmann::json::parse(dry.out);
  REQUIRE(actions.size() == 1);
  CHECK(actions[0]["verdict"] == "would be requeued");
  auto rec = run_pilot({"queue", "recover", "--queue", queue, "--older-than", "60"});
  REQUIRE(rec.exit_code == 0);
  CHECK_THAT(rec.out, Catch::StartsWith(id + " requeued (owner "));
  auto kill = run_pilot({"queue", "kill", "--queue", queue, id});
  CHECK(kill.exit_code == 0);
  CHECK(kill.out == id + ": killed (it was pending)\n");
  auto show = nlohmann::json::parse(run_pilot({"queue", "show", "--queue", queue, id}).out);
  CHECK(show["state"] == "done");
  CHECK(show["status"] == "Killed");
}

TEST_CASE("bad JDL: pilot queue submit refuses each with one line and queues nothing") {
  std::string nested;
  for (int i = 0; i < 40; ++i) nested += "[ L = ";
  nested += "1" + std::string(40, ']');
  pilot::TempDir tmp("bad-jdl");
  auto queue = (tmp.path() / "q").string();
  const std::pair<std::string, std::string> cases[] = {
      {job("OutputSandbox = { \"../../../etc/cron.d/x\" }"),
       "OutputSandbox entry '../../../etc/cron.d/x' contains a '..' component"},
      {job("Arguments = \"" + std::string(2 << 20, 'a') + "\""),
       "string longer than the limit of 1048576 bytes (in attribute 'Arguments')"},
      {job("JobName = \"\xff\xfe\""), "string is not valid UTF-8 (in attribute 'JobName')"},
      {job("JobRequirements = " + nested),
       "nesting deeper than the limit of 32 (in attribute 'JobRequirements.L.L."},
  };
  int n = 0;
  for (const auto& [text, message] : cases) {
    auto file = tmp.path() / ("bad" + std::to_string(n++) + ".jdl");
    pilot::write_file_atomic(file, text);
    auto r = run_pilot({"queue", "submit", "--queue", queue, file.string()});
    INFO(r.err.substr(0, 300));
    CHECK(r.exit_code == 1);
    CHECK(r.out.empty());
    CHECK_THAT(r.err, Catch::StartsWith("pilot queue: error: " + file.string()) &&
                          Catch::Contains(message));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "q" / "pending"));
}

TEST_CASE("PILOT_FAILPOINT kills the pilot right after the named durable step, and only then") {
  pilot::TempDir tmp("queue-cli");
  auto queue = (tmp.path() / "q").string();
  auto jdl = tmp.path() / "job.jdl";
  pilot::write_file_atomic(jdl, job("CPUTime = 600;"));
  auto listed = [&] {
    auto list = run_pilot({"queue", "list", "--queue", queue, "--json"});
    REQUIRE(list.exit_code == 0);
    return nlohmann::json::parse(list.out).size();
  };
  // submit writes the job's status.json, then moves it to pending/: killed after the first.
  auto killed = run_pilot({"queue", "submit", "--queue", queue, jdl.string()},
                          {{"PILOT_FAILPOINT", "journal:1"}});
  CHECK(killed.exit_code == -1);  // SIGKILL
  CHECK(killed.out.empty());
  CHECK(listed() == 0);  // not yet in pending/: never half-submitted
  auto later = run_pilot({"queue", "submit", "--queue", queue, jdl.string()},
                         {{"PILOT_FAILPOINT", "journal:1000"}});
  CHECK(later.exit_code == 0);
  auto other = run_pilot({"queue", "submit", "--queue", queue, jdl.string()},
                         {{"PILOT_FAILPOINT", "elsewhere:1"}});
  CHECK(other.exit_code == 0);
  auto bad = run_pilot({"queue", "submit", "--queue", queue, jdl.string()},
                       {{"PILOT_FAILPOINT", "journal"}});
  CHECK(bad.exit_code == 0);
  CHECK_THAT(bad.err, Catch::Contains("PILOT_FAILPOINT='journal' ignored"));
  CHECK(listed() == 3);
}
