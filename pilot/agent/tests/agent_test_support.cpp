#include "agent_test_support.hpp"

#include <catch2/catch.hpp>

#include "run_pilot.hpp"

using nlohmann::json;
using pilot::test::run_pilot;
namespace fs = std::filesystem;

namespace pilot::agent::test {

namespace {

// `head`, the options every `pilot run` of these tests sets (back-offs of 0.1 s doubling to 2 s
// at most, stopping after one failed match, 10 HS06 per processor, 10 MB of free disk enough),
// then `extra`.
std::vector<std::string> with_common_options(std::vector<std::string> head,
                                             const std::vector<std::string>& extra) {
  head.insert(head.end(), {"--set", "polling_s=0.1", "--set", "pacing.no_match_base_s=0.1", "--set",
                           "pacing.no_match_cap_s=2", "--set", "pacing.error_base_s=0.1", "--set",
                           "pacing.error_cap_s=2", "--set", "stop_after_failed_matches=1", "--set",
                           "cpu_power_hs06=10", "--set", "min_free_disk_mb=10"});
  head.insert(head.end(), extra.begin(), extra.end());
  return head;
}

}  // namespace

std::string LocalQueue::submit(const std::string& jdl) const {
  auto f = dir.path() / "job.jdl";
  pilot::write_file_atomic(f, jdl);
  auto r = run_pilot({"queue", "submit", "--queue", queue().string(), f.string()});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return r.out.substr(0, r.out.find('\n'));
}

json LocalQueue::show(const std::string& id) const {
  auto r = run_pilot({"queue", "show", "--queue", queue().string(), id});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

void check_history_in_time_order(const json& status) {
  const auto& history = status.at("history");
  // The queue's stamps are UTC with microseconds, all of one width: text order is time order.
  for (std::size_t i = 1; i < history.size(); ++i) {
    INFO("history entry " << i << " of job " << status.value("id", "?") << ": " << history[i].dump()
                          << " after " << history[i - 1].dump());
    CHECK(history[i].at("time").get<std::string>() >= history[i - 1].at("time").get<std::string>());
  }
}

std::vector<std::string> LocalQueue::run_args(const std::vector<std::string>& extra) const {
  return with_common_options(
      {"run", "--queue", queue().string(), "--workdir", work().string(), "--json"}, extra);
}

std::vector<std::string> with_workdir(std::vector<std::string> args, const fs::path& workdir) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--workdir") args[i + 1] = workdir.string();
  return args;
}

std::vector<std::string> dirac_run_args(const dirac::test::FakeDirac& server, const fs::path& work,
                                        const std::string& proxy,
                                        const std::vector<std::string>& extra) {
  const auto& pki = dirac::test::pki();
  std::vector<std::string> own{"--set", "wall_limit_s=100000", "--watch-period", "0.5"};
  own.insert(own.end(), extra.begin(), extra.end());
  return with_common_options(
      {"run",
       "--workdir",
       work.string(),
       "--json",
       "--set",
       "services.matcher=[\"" + server.diset_url() + "\"]",
       "--set",
       "services.job_state_update=[\"" + server.https_url() + "\"]",
       "--set",
       "services.proxy_manager=[\"" + server.diset_url("Framework/ProxyManager") + "\"]",
       "--set",
       "setup=Test-Setup",
       "--set",
       "vo=testvo",
       "--set",
       "proxy=" + (pki / proxy).string(),
       "--set",
       "cert_dir=" + (pki / "certificates").string(),
       "--set",
       "site=DIRAC.Test.ch"},
      own);
}

}  // namespace pilot::agent::test
