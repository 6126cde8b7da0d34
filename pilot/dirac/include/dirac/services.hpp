#pragma once
// Typed clients of the DIRAC WMS services a pilot calls, over either transport (the URL scheme
// decides). Arguments are sent with exact Python types: the HTTPS server stores whatever it gets.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/log.hpp"
#include "dirac/rpc.hpp"
#include "dirac/value.hpp"

namespace pilot::dirac {

// One service: its URLs (tried in order) and how to call it.
struct ServiceClient {
  std::vector<std::string> urls;
  RpcOptions options;
  log::Logger log;
};

// The server answered S_ERROR: the call reached the service and it refused.
struct ServiceError : Error {
  ServiceError(const std::string& what, std::int64_t e) : Error(what), errno_value(e) {}
  std::int64_t errno_value;
};
// Matcher Errno 1511: this pilot's ReleaseVersion is not the one the server wants; stop the pilot.
struct VersionMismatch : ServiceError {
  using ServiceError::ServiceError;
};

inline constexpr std::int64_t kErrnoNoMatch = 1510;
inline constexpr std::int64_t kErrnoVersionMismatch = 1511;

struct Match {
  std::int64_t job_id = 0;
  std::string jdl;
  std::string owner;  // DN (v8) or Owner (v9)
  std::string group;
  bool pilot_info_reported = false;
  Dict raw;  // the whole reply value
};

// Matcher.requestJob. nullopt on "no match" (1510); throws VersionMismatch (1511), ServiceError
// (other S_ERROR), RpcError (no answer).
std::optional<Match> request_job(const ServiceClient& matcher, const Dict& resource_description);

// One status change as setJobStatusBulk takes it.
struct StatusEntry {
  DateTime time;  // UTC
  std::string status, minor_status, application_status;
  std::string source = "JobWrapper";
};
// JobStateUpdate.setJobStatusBulk(jobID, {"<UTC time>": {...}}, force). Entries with the same
// time are merged (later fields win). Throws ServiceError / RpcError.
Value set_job_status_bulk(const ServiceClient& jsu, std::int64_t job_id,
                          const std::vector<StatusEntry>& entries, bool force = false);
void set_job_status(const ServiceClient& jsu, std::int64_t job_id, const std::string& status,
                    const std::string& minor_status, const std::string& source = "JobWrapper");
void set_job_application_status(const ServiceClient& jsu, std::int64_t job_id,
                                const std::string& application_status,
                                const std::string& source = "JobWrapper");
// Returns the number of parameters the server stored.
std::int64_t set_job_parameters(const ServiceClient& jsu, std::int64_t job_id,
                                const std::vector<std::pair<std::string, std::string>>& parameters);

// sendHeartBeat(jobID, dynamicData, staticData): the commands of the reply ({"Kill": ""} ...).
struct ServerCommand {
  std::string name;
  Value argument;
};
std::vector<ServerCommand> send_heartbeat(const ServiceClient& jsu, std::int64_t job_id,
                                          const Dict& dynamic_data, const Dict& static_data);

// JobManager.rescheduleJob(jobID): the job goes back to the task queue (the payload asked for it
// with exit code 222), or the server fails it once its MaxRescheduling is reached, answering
// S_ERROR "Maximum number of reschedulings is reached: N" (thrown as ServiceError).
void reschedule_job(const ServiceClient& job_manager, std::int64_t job_id);
// The JobManager beside a Matcher: dips on DIRAC's port 9132, or TornadoJobManager on the same
// HTTPS host and port.
std::string default_job_manager_url(const std::string& matcher_url);

// PilotLogging.sendMessage(message JSON text, pilotUUID, vo) and finaliseLogs(payload, pilotUUID,
// vo).
void send_pilot_log(const ServiceClient& logging, const std::string& message_json,
                    const std::string& pilot_uuid, const std::string& vo);
void finalise_pilot_logs(const ServiceClient& logging, const Dict& payload,
                         const std::string& pilot_uuid, const std::string& vo);

}  // namespace pilot::dirac
