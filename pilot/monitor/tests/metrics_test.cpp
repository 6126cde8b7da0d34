#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "monitor/metrics.hpp"

using namespace pilot::monitor;

namespace {

const std::string kPilot = R"(pilot_reference="slurm://wn01/1234")";

PilotStatus sample() {
  PilotStatus s;
  s.pid = 4242;
  s.version = "1.2.3";
  s.host = "wn01.example.org";
  s.site = "LCG.Example.org";
  // Every character the format escapes in a label value.
  s.source = "queue \"local\" C:\\jobs\nsecond line";
  s.pilot_reference = "slurm://wn01/1234";
  s.started_at = 1.7e9;
  s.updated_at = 1.7e9 + 60;
  s.period_s = 5;
  s.state = PilotState::running;
  s.wall_s_left = 3600.5;
  s.slots_total = 4;
  s.slots_busy = 3;
  JobView mc;
  mc.id = "1001";
  mc.state = JobState::running;
  mc.processors = 2;
  mc.started_at = 1.7e9 + 10;
  mc.cpu_s = 95.5;
  mc.wall_s = 50;
  mc.memory_bytes = std::int64_t{512} << 20;
  mc.mc = true;
  mc.events_done = 120;
  mc.events_planned = 400;
  s.jobs.push_back(mc);
  JobView prep;  // just matched: nothing measured yet
  prep.id = "1002";
  s.jobs.push_back(prep);
  s.counters.jobs_finished[JobOutcome::succeeded] = 3;
  s.counters.jobs_finished[JobOutcome::failed] = 1;
  s.counters.jobs_interrupted = 1;
  s.counters.requests[RequestResult::match] = 4;
  s.counters.requests[RequestResult::no_match] = 1;
  for (double d : {0.25, 0.03125, 1.5, 45.0, 200.0}) s.counters.request_latency.observe(d);
  s.counters.events = 900;
  s.counters.heartbeats = 7;
  s.reports_pending = 2;
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

// Series ("name{labels}") to value, for the sample lines; a series twice fails.
std::map<std::string, std::string> samples_of(const std::string& text) {
  std::map<std::string, std::string> out;
  for (const auto& l : lines_of(text)) {
    if (l.starts_with("#")) continue;
    auto space = l.rfind(' ');
    REQUIRE(space != std::string::npos);
    INFO(l);
    CHECK(out.emplace(l.substr(0, space), l.substr(space + 1)).second);
  }
  return out;
}

std::string series(const std::string& name, const std::string& labels = "") {
  return name + "{" + kPilot + (labels.empty() ? "" : "," + labels) + "}";
}

// Every value of an enum whose name function says "?" past its last value.
template <typename E>
std::vector<std::string> all_names(const char* (*name)(E)) {
  std::vector<std::string> names;
  for (int i = 0; std::string(name(static_cast<E>(i))) != "?"; ++i) names.push_back(name(E(i)));
  return names;
}

}  // namespace

TEST_CASE("metrics: every family has its HELP and TYPE once, before its samples") {
  auto text = render_metrics(sample());
  REQUIRE(text.ends_with("\n"));
  std::map<std::string, int> help, type;
  for (const auto& l : lines_of(text)) {
    INFO(l);
    if (l.starts_with("# HELP ")) {
      ++help[l.substr(7, l.find(' ', 7) - 7)];
    } else if (l.starts_with("# TYPE ")) {
      auto name = l.substr(7, l.find(' ', 7) - 7);
      CHECK(help.count(name));
      ++type[name];
    } else {
      auto name = l.substr(0, l.find('{'));
      bool histogram_part = name.starts_with("pilot_matcher_request_duration_seconds_");
      CHECK(type.count(histogram_part ? "pilot_matcher_request_duration_seconds" : name));
      CHECK(l.starts_with(name + "{" + kPilot));  // the pilot's label on every sample
    }
  }
  CHECK(help == type);
  for (const auto& [name, n] : help) {
    INFO(name);
    CHECK(n == 1);
    CHECK(name.starts_with("pilot_"));
  }
  // No timestamps: the collector refuses a file with one.
  for (const auto& [s, v] : samples_of(text)) CHECK(s.find("} ") == std::string::npos);
}

TEST_CASE("metrics: the sample status, figure by figure") {
  auto m = samples_of(render_metrics(sample()));
  CHECK(m.at(series("pilot_info", R"(version="1.2.3",site="LCG.Example.org",)"
                                  R"(host="wn01.example.org",)"
                                  R"(source="queue \"local\" C:\\jobs\nsecond line")")) == "1");
  CHECK(m.at(series("pilot_start_time_seconds")) == "1.7e+09");
  CHECK(m.at(series("pilot_status_updated_time_seconds")) == "1700000060");
  CHECK(m.at(series("pilot_status_period_seconds")) == "5");
  CHECK(m.at(series("pilot_wall_time_left_seconds")) == "3600.5");
  CHECK(m.at(series("pilot_slots")) == "4");
  CHECK(m.at(series("pilot_slots_busy")) == "3");
  CHECK(m.at(series("pilot_jobs_running")) == "2");
  CHECK(m.at(series("pilot_jobs", R"(state="preparing")")) == "1");
  CHECK(m.at(series("pilot_jobs", R"(state="running")")) == "1");
  CHECK(m.at(series("pilot_jobs", R"(state="stopping")")) == "0");
  CHECK(m.at(series("pilot_jobs_finished_total", R"(outcome="succeeded")")) == "3");
  CHECK(m.at(series("pilot_jobs_finished_total", R"(outcome="failed")")) == "1");
  CHECK(m.at(series("pilot_jobs_finished_total", R"(outcome="rescheduled")")) == "0");
  CHECK(m.at(series("pilot_jobs_interrupted_total")) == "1");
  CHECK(m.at(series("pilot_events_total")) == "900");
  CHECK(m.at(series("pilot_job_cpu_seconds_total", R"(job_id="1001")")) == "95.5");
  CHECK(m.at(series("pilot_job_cpu_seconds_total", R"(job_id="1002")")) == "0");
  CHECK(m.at(series("pilot_job_wall_seconds", R"(job_id="1001")")) == "50");
  CHECK(m.at(series("pilot_job_processors", R"(job_id="1001")")) == "2");
  CHECK(m.at(series("pilot_job_start_time_seconds", R"(job_id="1001")")) == "1700000010");
  CHECK(m.at(series("pilot_job_memory_bytes", R"(job_id="1001")")) == "536870912");
  CHECK(m.at(series("pilot_job_events", R"(job_id="1001")")) == "120");
  CHECK(m.at(series("pilot_job_events_planned", R"(job_id="1001")")) == "400");
  CHECK(m.at(series("pilot_matcher_requests_total", R"(result="match")")) == "4");
  CHECK(m.at(series("pilot_matcher_requests_total", R"(result="error")")) == "0");
  CHECK(m.at(series("pilot_heartbeats_total")) == "7");
  CHECK(m.at(series("pilot_reports_pending")) == "2");
}

TEST_CASE("metrics: a label value that is not UTF-8 gets U+FFFD for each bad byte, the rest kept") {
  auto s = sample();
  s.site = "Z\xC3\xBCrich \xE2\x82\xAC caf\xE9 \xC0\xAF \xED\xA0\x80 \xF0\x9F\x98\x80 end\xE2\x82";
  auto text = render_metrics(s);
  const std::string bad = "\xEF\xBF\xBD";
  CHECK(text.find("site=\"Z\xC3\xBCrich \xE2\x82\xAC caf" + bad + " " + bad + bad + " " + bad +
                  bad + bad + " \xF0\x9F\x98\x80 end" + bad + bad + "\"") != std::string::npos);
}

TEST_CASE("metrics: the pilot's state is 1, every other state is listed as 0") {
  auto s = sample();
  for (auto state : {PilotState::starting, PilotState::reclaimed, PilotState::ended}) {
    s.state = state;
    auto m = samples_of(render_metrics(s));
    for (const auto& name : all_names(pilot_state_name)) {
      INFO(name);
      CHECK(m.at(series("pilot_state", "state=\"" + name + "\"")) ==
            (name == pilot_state_name(state) ? "1" : "0"));
    }
  }
}

TEST_CASE("metrics: every job state, outcome and request result is listed, 0 included") {
  PilotStatus bare;  // nothing counted yet
  bare.pilot_reference = sample().pilot_reference;
  auto m = samples_of(render_metrics(bare));
  for (const auto& name : all_names(job_state_name))
    CHECK(m.at(series("pilot_jobs", "state=\"" + name + "\"")) == "0");
  for (const auto& name : all_names(job_outcome_name))
    CHECK(m.at(series("pilot_jobs_finished_total", "outcome=\"" + name + "\"")) == "0");
  for (const auto& name : all_names(request_result_name))
    CHECK(m.at(series("pilot_matcher_requests_total", "result=\"" + name + "\"")) == "0");
}

TEST_CASE("metrics: the request histogram is cumulative and its +Inf bucket is its count") {
  auto m = samples_of(render_metrics(sample()));
  std::vector<std::string> le;
  for (double b : LatencyHistogram::kBounds) {
    std::ostringstream o;
    o << b;
    le.push_back(o.str());
  }
  le.push_back("+Inf");
  std::vector<std::string> got;
  for (const auto& l : le)
    got.push_back(
        m.at(series("pilot_matcher_request_duration_seconds_bucket", "le=\"" + l + "\"")));
  // 0.03125 | 0.25 | 1.5 | 45 | 200 over the bounds 0.05 ... 120, a bound counting as within.
  CHECK(got ==
        std::vector<std::string>{"1", "1", "2", "2", "2", "3", "3", "3", "3", "4", "4", "5"});
  CHECK(m.at(series("pilot_matcher_request_duration_seconds_count")) == "5");
  CHECK(m.at(series("pilot_matcher_request_duration_seconds_sum")) == "246.78125");
}

TEST_CASE("metrics: an unknown figure is absent, its family too, never -1") {
  auto s = sample();
  auto text = render_metrics(s);
  CHECK(text.find("pilot_cpu_work_left_hs06_seconds") == std::string::npos);
  auto m = samples_of(text);
  for (const char* name : {"pilot_job_start_time_seconds", "pilot_job_memory_bytes",
                           "pilot_job_events", "pilot_job_events_planned"})
    CHECK_FALSE(m.count(series(name, R"(job_id="1002")")));
  for (const auto& [series, value] : m) {
    INFO(series);
    CHECK(value != "-1");
  }

  s.jobs.clear();
  s.wall_s_left.reset();
  s.cpu_work_left_hs06s = 1.5e6;
  text = render_metrics(s);
  CHECK(text.find("pilot_job_") == std::string::npos);
  CHECK(text.find("pilot_wall_time_left_seconds") == std::string::npos);
  CHECK(samples_of(text).at(series("pilot_cpu_work_left_hs06_seconds")) == "1500000");
  CHECK(samples_of(text).at(series("pilot_jobs_running")) == "0");
}

TEST_CASE("metrics: the textfile is replaced whole, readable by others, nothing left beside it") {
  pilot::TempDir dir("metrics");
  auto file = dir.path() / "pilot-1234.prom";
  auto s = sample();
  write_metrics_textfile(file, s);
  CHECK(pilot::read_file(file) == render_metrics(s));
  s.jobs.pop_back();
  write_metrics_textfile(file, s);
  CHECK(pilot::read_file(file) == render_metrics(s));
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    INFO(e.path());
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("metrics: a textfile that the collector would not read is an error naming it") {
  pilot::TempDir dir("metrics");
  auto wrong = dir.path() / "pilot.txt";
  CHECK_THROWS_WITH(write_metrics_textfile(wrong, sample()),
                    Catch::Contains(wrong.string()) && Catch::Contains(".prom"));
  CHECK_FALSE(std::filesystem::exists(wrong));
  auto missing = dir.path() / "no-such-dir" / "pilot.prom";
  CHECK_THROWS_WITH(write_metrics_textfile(missing, sample()), Catch::Contains(missing.string()));
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("metrics: promtool check metrics accepts the textfile") {
  auto promtool = pilot::find_executable("promtool", std::getenv("PATH"));
  if (!promtool)
    FAIL("promtool is not in PATH: install Debian's prometheus package (ci/setup does)");
  pilot::TempDir dir("metrics");
  auto file = dir.path() / "pilot.prom";
  auto s = sample();
  for (bool bare : {false, true}) {
    if (bare) s = PilotStatus{};
    write_metrics_textfile(file, s);
    pilot::CommandOptions opt;
    opt.merge_stderr = true;
    // promtool reads the metrics on its standard input only.
    auto r = pilot::run_command(
        {"sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool->string(), file.string()}, opt);
    REQUIRE(r);
    INFO(pilot::describe({"promtool", "check", "metrics"}, *r) << "\n" << r->out);
    CHECK(r->ok());
    CHECK(r->out.empty());  // lint findings are printed, and fail too
  }
}
