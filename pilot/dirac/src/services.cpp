#include "dirac/services.hpp"

namespace pilot::dirac {
namespace {

Value checked(const ServiceClient& c, std::string_view method, const List& args) {
  Reply r = call(c.urls, method, args, c.options, c.log);
  if (!r.ok)
    throw ServiceError(std::string(method) + " refused by the server: " + r.message +
                           (r.errno_value ? " (Errno " + std::to_string(r.errno_value) + ")" : ""),
                       r.errno_value);
  return r.value;
}

std::string optional_string(const Dict& d, std::string_view key) {
  const Value* v = d.find(key);
  return v && v->is<std::string>() ? v->as_string() : std::string();
}

}  // namespace

std::optional<Match> request_job(const ServiceClient& matcher, const Dict& description) {
  Reply r = call(matcher.urls, "requestJob", list({description}), matcher.options, matcher.log);
  if (!r.ok) {
    if (r.errno_value == kErrnoNoMatch) return std::nullopt;
    std::string msg =
        "Matcher.requestJob: " + r.message + " (Errno " + std::to_string(r.errno_value) + ")";
    if (r.errno_value == kErrnoVersionMismatch)
      throw VersionMismatch(msg + "; this pilot's version is not the one the server requires",
                            r.errno_value);
    throw ServiceError(msg, r.errno_value);
  }
  const Dict& d = r.value.as_dict("Matcher.requestJob reply");
  Match m;
  const Value* id = d.find("JobID");
  const Value* jdl = d.find("JDL");
  if (!id || !jdl)
    throw RpcError(ErrorKind::protocol, "Matcher.requestJob: reply without JobID or JDL: " +
                                            to_debug_string(r.value).substr(0, 200));
  // JobID arrives as an int (DEncode) or, from some versions, as its decimal text.
  if (id->is<std::string>()) {
    try {
      m.job_id = std::stoll(id->as_string());
    } catch (const std::exception&) {
      throw RpcError(ErrorKind::protocol,
                     "Matcher.requestJob: JobID '" + id->as_string() + "' is not a number");
    }
  } else {
    m.job_id = id->as_int("Matcher.requestJob JobID");
  }
  m.jdl = jdl->as_string("Matcher.requestJob JDL");
  m.owner = optional_string(d, "DN");
  if (m.owner.empty()) m.owner = optional_string(d, "Owner");
  m.group = optional_string(d, "Group");
  if (const Value* f = d.find("PilotInfoReportedFlag"); f && f->is<bool>())
    m.pilot_info_reported = f->as_bool();
  m.raw = d;
  return m;
}

Value set_job_status_bulk(const ServiceClient& c, std::int64_t job_id,
                          const std::vector<StatusEntry>& entries, bool force) {
  Dict statuses;
  for (const auto& e : entries) {
    std::string key = format_datetime(e.time, true);
    Dict fields;
    if (const Value* old = statuses.find(key)) fields = old->as_dict();
    if (!e.status.empty()) fields.set("Status", e.status);
    if (!e.minor_status.empty()) fields.set("MinorStatus", e.minor_status);
    if (!e.application_status.empty()) fields.set("ApplicationStatus", e.application_status);
    fields.set("Source", e.source);
    statuses.set(key, fields);
  }
  return checked(c, "setJobStatusBulk", list({job_id, statuses, force}));
}

void set_job_status(const ServiceClient& c, std::int64_t job_id, const std::string& status,
                    const std::string& minor, const std::string& source) {
  checked(c, "setJobStatus", list({job_id, status, minor, source}));
}

void set_job_application_status(const ServiceClient& c, std::int64_t job_id, const std::string& app,
                                const std::string& source) {
  checked(c, "setJobApplicationStatus", list({job_id, app, source}));
}

std::int64_t set_job_parameters(
    const ServiceClient& c, std::int64_t job_id,
    const std::vector<std::pair<std::string, std::string>>& parameters) {
  List params;
  for (const auto& [n, v] : parameters) params.items.push_back(list({n, v}));
  Value v = checked(c, "setJobParameters", list({job_id, params}));
  return v.is<std::int64_t>() ? v.as_int() : static_cast<std::int64_t>(parameters.size());
}

std::vector<ServerCommand> send_heartbeat(const ServiceClient& c, std::int64_t job_id,
                                          const Dict& dynamic_data, const Dict& static_data) {
  Value v = checked(c, "sendHeartBeat", list({job_id, dynamic_data, static_data}));
  std::vector<ServerCommand> out;
  if (v.is_null()) return out;
  for (const auto& [k, arg] : v.as_dict("sendHeartBeat reply").items)
    out.push_back({k.is<std::string>() ? k.as_string() : to_debug_string(k), arg});
  return out;
}

void reschedule_job(const ServiceClient& c, std::int64_t job_id) {
  checked(c, "rescheduleJob", list({job_id}));
}

std::string default_job_manager_url(const std::string& matcher_url) {
  return sibling_service_url(matcher_url, 9132, "WorkloadManagement/JobManager",
                             "WorkloadManagement/TornadoJobManager");
}

void send_pilot_log(const ServiceClient& c, const std::string& message_json,
                    const std::string& uuid, const std::string& vo) {
  checked(c, "sendMessage", list({message_json, uuid, vo}));
}

void finalise_pilot_logs(const ServiceClient& c, const Dict& payload, const std::string& uuid,
                         const std::string& vo) {
  checked(c, "finaliseLogs", list({payload, uuid, vo}));
}

}  // namespace pilot::dirac
