#pragma once
// What the agent's end-to-end tests share: `pilot run` on a local queue (the queue, its jobs'
// records and the pilot's command line) and `pilot run` against tests/fake_dirac/fake_dirac.py.
// Each command line holds the options every test of its kind sets; a test adds its own after them
// (a later `--set` of the same key wins).

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "fake_server.hpp"

namespace pilot::agent::test {

// A local queue (dir/queue) and the pilot's work directory (dir/work) in a temporary directory.
struct LocalQueue {
  explicit LocalQueue(const std::string& prefix) : dir(prefix) {}
  pilot::TempDir dir;
  std::filesystem::path queue() const { return dir.path() / "queue"; }
  std::filesystem::path work() const { return dir.path() / "work"; }

  // Queues `jdl` with `pilot queue submit` (the test fails if it refuses); returns the job id.
  std::string submit(const std::string& jdl) const;
  // The job's record, as `pilot queue show` prints it.
  nlohmann::json show(const std::string& id) const;
  // `pilot run --queue ... --workdir ... --json` polling every 0.1 s, stopping after one failed
  // match, with 10 HS06 per processor and 10 MB of free disk enough; then `extra`.
  std::vector<std::string> run_args(const std::vector<std::string>& extra = {}) const;
};

// Checks (Catch CHECKs) that each entry of a job's history, as `show` returns it, is stamped no
// earlier than the one before it: the order DIRAC's JobLoggingDB sorts them in is their order.
void check_history_in_time_order(const nlohmann::json& status);

// `args` (a pilot's command line) with its work directory replaced: a pilot started over the
// same queue elsewhere, as pilot-bootstrap.sh does on every start.
std::vector<std::string> with_workdir(std::vector<std::string> args,
                                      const std::filesystem::path& workdir);

// `pilot run --workdir WORK --json` against `server`'s Matcher, JobStateUpdate (HTTPS) and
// ProxyManager with the test PKI's `proxy` (a file name in it) and CA directory, as site
// DIRAC.Test.ch of Test-Setup and VO testvo, polling every 0.1 s, stopping after one failed match,
// with 10 HS06 per processor, a wall limit of 100000 s, 10 MB of free disk enough and a 0.5 s
// watch period; then `extra`.
std::vector<std::string> dirac_run_args(const dirac::test::FakeDirac& server,
                                        const std::filesystem::path& work,
                                        const std::string& proxy = "proxy.pem",
                                        const std::vector<std::string>& extra = {});

}  // namespace pilot::agent::test
