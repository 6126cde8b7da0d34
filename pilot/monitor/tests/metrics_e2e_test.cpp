// The textfile through the real programs a site runs, on loopback: Debian's node_exporter reads
// it with its textfile collector, a real Prometheus scrapes that every second, and the test asks
// Prometheus' HTTP API what it stored.

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "core/http.hpp"
#include "monitor/metrics.hpp"
#include "ports.hpp"
#include "processes.hpp"

extern char** environ;

using namespace pilot::monitor;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

// A daemon started for the test in a process group of its own, its output in `log`. The group is
// killed and the daemon reaped when the object goes, whether the test passed or not.
class Daemon {
 public:
  Daemon(const std::vector<std::string>& argv, fs::path log) : log_(std::move(log)) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
    int rc = posix_spawn(&pid_, args[0], &fa, &attr, args.data(), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) throw pilot::Error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  ~Daemon() {
    ::kill(-pid_, SIGKILL);
    if (!reaped_) ::waitpid(pid_, nullptr, 0);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  bool exited() {
    if (!reaped_ && ::waitpid(pid_, nullptr, WNOHANG) == pid_) reaped_ = true;
    return reaped_;
  }
  std::string log() const { return pilot::read_file(log_).value_or("(no output)"); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  bool reaped_ = false;
};

bool eventually(const std::function<bool()>& condition, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

std::string local_url(int port, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// nullopt while nothing answers.
std::optional<pilot::http::Response> get(const std::string& url) {
  pilot::http::Request r;
  r.url = url;
  r.connect_timeout = 1s;
  r.timeout = 5s;
  try {
    return pilot::http::perform(r);
  } catch (const pilot::http::TransportError&) {
    return std::nullopt;
  }
}

struct Served {
  std::unique_ptr<Daemon> daemon;
  int port = 0;
};

// Starts `argv_for(port)` on a free port and waits until `ready_path` answers 200. A daemon that
// exits (its port was taken in between) is tried again on another port.
Served serve(const std::string& name, const std::function<std::vector<std::string>(int)>& argv_for,
             const std::string& ready_path, const fs::path& dir) {
  std::string last_log;
  for (int attempt = 0; attempt < 3; ++attempt) {
    int port = pilot::test::free_port();
    auto d = std::make_unique<Daemon>(argv_for(port), dir / (name + ".log"));
    bool up = eventually(
        [&] {
          if (d->exited()) return true;
          auto r = get(local_url(port, ready_path));
          return r && r->status == 200;
        },
        30s);
    if (!d->exited()) {
      if (up) return {std::move(d), port};
      throw pilot::Error(name + " did not answer on port " + std::to_string(port) +
                         " within 30 s:\n" + d->log());
    }
    last_log = d->log();
  }
  throw pilot::Error(name + " exited three times at start-up:\n" + last_log);
}

std::string require_executable(const char* name, const char* package) {
  auto exe = pilot::find_executable(name, std::getenv("PATH"));
  if (!exe)
    FAIL(name << " is not in PATH: install Debian's " << package << " package (ci/setup does)");
  return exe->string();
}

// The value of the one series `promql` gives now; nullopt while it gives none (or several).
std::optional<std::string> single_value(int port, const std::string& promql) {
  auto r = get(local_url(port, "/api/v1/query?" + pilot::http::form_encode({{"query", promql}})));
  if (!r || !r->ok()) return std::nullopt;
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return std::nullopt;
  const auto& result = j["data"]["result"];
  if (result.size() != 1) return std::nullopt;
  return result[0]["value"][1].get<std::string>();
}

nlohmann::json series_labels(int port, const std::string& promql) {
  auto r = get(local_url(port, "/api/v1/query?" + pilot::http::form_encode({{"query", promql}})));
  REQUIRE(r);
  auto j = nlohmann::json::parse(r->body);
  REQUIRE(j["data"]["result"].size() == 1);
  return j["data"]["result"][0]["metric"];
}

PilotStatus status_with_jobs(int jobs) {
  PilotStatus s;
  s.version = "1.2.3";
  s.host =
      "wn\xFF"
      "01.example.org";  // not UTF-8: must not cost the whole file
  s.site = "LCG.Example.org";
  s.source = "queue \"local\" C:\\jobs\nsecond line";
  s.pilot_reference = "slurm://wn01/1234";
  s.state = PilotState::running;
  s.slots_total = jobs;
  s.slots_busy = jobs;
  for (int i = 0; i < jobs; ++i) {
    JobView j;
    j.id = std::to_string(1000 + i);
    j.state = JobState::running;
    s.jobs.push_back(j);
  }
  s.counters.request_latency.observe(0.3);
  s.counters.request_latency.observe(7);
  return s;
}

void write_prometheus_config(const fs::path& file, int exporter_port) {
  // scrape_timeout may not exceed the interval, and its default (10 s) does.
  std::string yaml =
      "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
      "scrape_configs:\n  - job_name: pilot-node\n    static_configs:\n"
      "      - targets: ['127.0.0.1:" +
      std::to_string(exporter_port) + "']\n";
  pilot::write_file_atomic(file, yaml);
}

}  // namespace

TEST_CASE(
    "metrics end to end: Prometheus scrapes the textfile through node_exporter and follows it") {
  auto exporter = require_executable("prometheus-node-exporter", "prometheus-node-exporter");
  auto prometheus = require_executable("prometheus", "prometheus");
  pilot::TempDir dir("metrics-e2e");
  auto textfiles = dir.path() / "textfile";
  fs::create_directory(textfiles);
  auto file = textfiles / "pilot-1234.prom";
  auto status = status_with_jobs(2);
  write_metrics_textfile(file, status);

  auto node = serve(
      "node_exporter",
      [&](int port) {
        return std::vector<std::string>{exporter, "--collector.disable-defaults",
                                        "--collector.textfile",
                                        "--collector.textfile.directory=" + textfiles.string(),
                                        "--web.listen-address=127.0.0.1:" + std::to_string(port)};
      },
      "/metrics", dir.path());
  write_prometheus_config(dir.path() / "prometheus.yml", node.port);
  auto prom = serve(
      "prometheus",
      [&](int port) {
        return std::vector<std::string>{prometheus,
                                        "--config.file=" + (dir.path() / "prometheus.yml").string(),
                                        "--storage.tsdb.path=" + (dir.path() / "tsdb").string(),
                                        "--web.listen-address=127.0.0.1:" + std::to_string(port)};
      },
      "/-/ready", dir.path());

  auto follows = [&](const std::string& promql, const std::string& want) {
    std::optional<std::string> got;
    if (eventually([&] { return (got = single_value(prom.port, promql)) == want; }, 30s)) return;
    FAIL(promql << " is " << got.value_or("(not one series)") << ", not " << want
                << "\n--- node_exporter:\n"
                << node.daemon->log() << "\n--- prometheus:\n"
                << prom.daemon->log());
  };

  // The figures arrive as written, label values unescaped again.
  follows("pilot_jobs_running", "2");
  follows(R"(pilot_matcher_request_duration_seconds_bucket{le="+Inf"})", "2");
  follows("pilot_matcher_request_duration_seconds_count", "2");
  auto info = series_labels(prom.port, "pilot_info");
  CHECK(info["source"] == status.source);
  CHECK(info["pilot_reference"] == status.pilot_reference);
  CHECK(info["site"] == status.site);
  CHECK(info["host"] == "wn\uFFFD01.example.org");
  CHECK(info["job"] == "pilot-node");

  // Prometheus follows the rewrites, and none of its scrapes amid them read a partial file.
  auto until = std::chrono::steady_clock::now() + 3s;
  for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
    write_metrics_textfile(file, status_with_jobs(1 + i % 3));
    std::this_thread::sleep_for(10ms);
  }
  write_metrics_textfile(file, status_with_jobs(5));
  follows("pilot_jobs_running", "5");
  follows("max_over_time(node_textfile_scrape_error[5m])", "0");
  follows(R"(min_over_time(up{job="pilot-node"}[5m]))", "1");
  std::vector<fs::path> left;
  for (const auto& e : fs::directory_iterator(textfiles)) left.push_back(e.path());
  CHECK(left == std::vector<fs::path>{file});

  std::vector<pid_t> pids{node.daemon->pid(), prom.daemon->pid()};
  node.daemon.reset();
  prom.daemon.reset();
  for (pid_t pid : pids) {
    CHECK_FALSE(pilot::test::process_alive(pid));
    CHECK(::kill(-pid, 0) == -1);  // nothing of its process group is left either
  }
}
