#pragma once
// Job reports (status changes with their UTC time, job parameters, then a request to reschedule
// the job) waiting to reach JobStateUpdate and JobManager. Every change is written to disk
// (atomically) before any attempt to send it, so neither a server outage nor a pilot restart loses
// one; entries leave the buffer only once the server has accepted them. What the server refuses for
// good (an S_ERROR such as "No Matching Job", which no retry can change) is logged as an error and
// kept in the file's "refused" list with the server's answer, for the operator: never dropped.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dirac/services.hpp"

namespace pilot::dirac {

class ReportBuffer {
 public:
  // Loads `file` if it exists. A file that cannot be parsed is renamed to "<file>.corrupt" and
  // reported by warning(); the buffer then starts empty.
  explicit ReportBuffer(std::filesystem::path file);

  void add_status(std::int64_t job_id, StatusEntry entry);
  void add_parameters(std::int64_t job_id,
                      const std::vector<std::pair<std::string, std::string>>& parameters);
  // JobManager.rescheduleJob, sent after the job's statuses and parameters.
  void add_reschedule(std::int64_t job_id);

  std::size_t pending() const;  // status entries + parameters + reschedules not yet delivered
  std::size_t refused() const { return refused_.size(); }  // reports the server refused, kept
  std::vector<StatusEntry> statuses(std::int64_t job_id) const;

  struct FlushResult {
    std::size_t delivered = 0;
    std::size_t rejected = 0;  // refused by the server for good: logged, kept in "refused"
    bool complete = false;     // nothing left
    std::string error;         // why something is still pending
  };
  // Sends everything pending, job by job; keeps what could not be delivered.
  FlushResult flush(const ServiceClient& job_state_update, const ServiceClient& job_manager);

  const std::string& warning() const { return warning_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  struct JobReports {
    std::vector<StatusEntry> statuses;
    std::vector<std::pair<std::string, std::string>> parameters;
    bool reschedule = false;
  };
  void save() const;
  // Keeps what the server refused with its answer and logs it as an error.
  void keep_refused(std::int64_t job_id, const std::string& what, nlohmann::json entries,
                    const std::string& error, const log::Logger& log);

  std::filesystem::path file_;
  std::map<std::int64_t, JobReports> jobs_;
  std::vector<nlohmann::json> refused_;
  std::string warning_;
};

}  // namespace pilot::dirac
