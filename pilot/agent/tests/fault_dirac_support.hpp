#pragma once
// What the fault-injection tests against tests/fake_dirac/fake_dirac.py share: the pilot's
// command line (short RPC time-outs, outages ridden out), the jobs, and readers of what the
// server stored.

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fake_server.hpp"

namespace pilot::agent::test {

// `pilot run` against `server`, work directory dir/work, one processor, 1 s RPC time-outs.
std::vector<std::string> faulty_server_pilot_args(const dirac::test::FakeDirac& server,
                                                  const std::filesystem::path& dir);
// JDLs of jobs 1..n that sleep `seconds`, for the fake server's "jdl" control.
nlohmann::json sleeping_jobs(int n, double seconds);
// Every status change the server stored for `job` ("Status/MinorStatus"), ordered by its time
// as the server applies them; a change delivered twice (its reply was lost) counts once.
std::vector<std::string> stored_statuses(const dirac::test::FakeDirac& s, int job);
std::set<std::string> stored_parameters(const dirac::test::FakeDirac& s, int job);
// How many calls met each fault ("diset reset", "https 500", ...).
std::map<std::string, int> faults_seen(const dirac::test::FakeDirac& s);
double epoch_now();
// Jobs 1..jobs each have the full status flow, in order, and their parameters; the pilot's report
// buffer in `work` is empty.
void check_every_job_reported(const dirac::test::FakeDirac& server,
                              const std::filesystem::path& work, int jobs);

}  // namespace pilot::agent::test
