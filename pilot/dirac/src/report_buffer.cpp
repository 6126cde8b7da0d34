#include "dirac/report_buffer.hpp"

#include <nlohmann/json.hpp>

#include "core/fs.hpp"
#include "core/json_number.hpp"

namespace pilot::dirac {
namespace {
using json = nlohmann::json;

json status_json(const StatusEntry& s) {
  json e{{"time", format_datetime(s.time, true)}, {"Source", s.source}};
  if (!s.status.empty()) e["Status"] = s.status;
  if (!s.minor_status.empty()) e["MinorStatus"] = s.minor_status;
  if (!s.application_status.empty()) e["ApplicationStatus"] = s.application_status;
  return e;
}

json statuses_json(const std::vector<StatusEntry>& statuses) {
  json out = json::array();
  for (const auto& s : statuses) out.push_back(status_json(s));
  return out;
}

json parameters_json(const std::vector<std::pair<std::string, std::string>>& parameters) {
  json out = json::array();
  for (const auto& [n, v] : parameters) out.push_back({n, v});
  return out;
}
}  // namespace

ReportBuffer::ReportBuffer(std::filesystem::path file) : file_(std::move(file)) {
  auto text = read_file(file_);
  if (!text) return;
  try {
    json j = json::parse(*text);
    for (const auto& job : j.at("jobs")) {
      JobReports r;
      for (const auto& s : job.at("statuses")) {
        StatusEntry e;
        auto t = parse_datetime(s.at("time").get<std::string>());
        if (!t) throw Error("bad time " + s.at("time").get<std::string>());
        e.time = *t;
        e.status = s.value("Status", "");
        e.minor_status = s.value("MinorStatus", "");
        e.application_status = s.value("ApplicationStatus", "");
        e.source = s.value("Source", "JobWrapper");
        r.statuses.push_back(std::move(e));
      }
      for (const auto& p : job.at("parameters"))
        r.parameters.emplace_back(p.at(0).get<std::string>(), p.at(1).get<std::string>());
      r.reschedule = job.value("reschedule", false);
      auto id = json_number<std::int64_t>(job.at("job"));
      if (!id) throw Error("a job id that is not an integer");
      jobs_[*id] = std::move(r);
    }
    if (j.contains("refused"))
      for (const auto& r : j.at("refused")) refused_.push_back(r);
  } catch (const std::exception& e) {
    jobs_.clear();
    auto aside = file_;
    aside += ".corrupt";
    std::error_code ec;
    std::filesystem::rename(file_, aside, ec);
    warning_ = "job report buffer " + file_.string() + " is unreadable (" + e.what() +
               "); kept as " + aside.string() + ", starting empty";
  }
}

void ReportBuffer::save() const {
  json j;
  j["version"] = 1;
  j["jobs"] = json::array();
  for (const auto& [id, r] : jobs_) {
    json job{{"job", id},
             {"statuses", statuses_json(r.statuses)},
             {"parameters", parameters_json(r.parameters)}};
    if (r.reschedule) job["reschedule"] = true;
    j["jobs"].push_back(job);
  }
  if (!refused_.empty()) j["refused"] = refused_;
  std::filesystem::create_directories(file_.parent_path().empty() ? "." : file_.parent_path());
  write_file_atomic(file_, j.dump(1, ' ', false, json::error_handler_t::replace) + "\n", 0600);
}

void ReportBuffer::add_status(std::int64_t job_id, StatusEntry entry) {
  jobs_[job_id].statuses.push_back(std::move(entry));
  save();
}

void ReportBuffer::add_parameters(std::int64_t job_id,
                                  const std::vector<std::pair<std::string, std::string>>& params) {
  auto& p = jobs_[job_id].parameters;
  p.insert(p.end(), params.begin(), params.end());
  save();
}

void ReportBuffer::add_reschedule(std::int64_t job_id) {
  jobs_[job_id].reschedule = true;
  save();
}

void ReportBuffer::keep_refused(std::int64_t job_id, const std::string& what, json entries,
                                const std::string& error, const log::Logger& log) {
  log.error("job " + what + " refused by the server; kept in the report file for the operator",
            {{"job_id", job_id}, {"error", error}, {"file", file_.string()}});
  refused_.push_back({{"job", job_id}, {what, std::move(entries)}, {"error", error}});
}

std::size_t ReportBuffer::pending() const {
  std::size_t n = 0;
  for (const auto& [id, r] : jobs_)
    n += r.statuses.size() + r.parameters.size() + (r.reschedule ? 1 : 0);
  return n;
}

std::vector<StatusEntry> ReportBuffer::statuses(std::int64_t job_id) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? std::vector<StatusEntry>{} : it->second.statuses;
}

ReportBuffer::FlushResult ReportBuffer::flush(const ServiceClient& jsu,
                                              const ServiceClient& job_manager) {
  FlushResult result;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    auto& [id, r] = *it;
    try {
      if (!r.statuses.empty()) {
        try {
          set_job_status_bulk(jsu, id, r.statuses);
          result.delivered += r.statuses.size();
        } catch (const ServiceError& e) {
          result.rejected += r.statuses.size();
          keep_refused(id, "statuses", statuses_json(r.statuses), e.what(), jsu.log);
        }
        r.statuses.clear();
        save();
      }
      if (!r.parameters.empty()) {
        try {
          set_job_parameters(jsu, id, r.parameters);
          result.delivered += r.parameters.size();
        } catch (const ServiceError& e) {
          result.rejected += r.parameters.size();
          keep_refused(id, "parameters", parameters_json(r.parameters), e.what(), jsu.log);
        }
        r.parameters.clear();
      }
      if (r.reschedule) {
        save();  // what went before is delivered: a retry sends only the reschedule
        try {
          reschedule_job(job_manager, id);
          ++result.delivered;
          job_manager.log.info("job rescheduled", {{"job_id", id}});
        } catch (const ServiceError& e) {
          // "Maximum number of reschedulings is reached": the server has failed the job itself.
          ++result.rejected;
          job_manager.log.warn("reschedule refused by the server",
                               {{"job_id", id}, {"error", std::string(e.what())}});
        }
        r.reschedule = false;
      }
      it = jobs_.erase(it);
      save();
    } catch (const RpcError& e) {
      result.error = e.what();
      break;  // the server is unreachable: the other jobs would fail the same way
    }
  }
  result.complete = jobs_.empty();
  return result;
}

}  // namespace pilot::dirac
