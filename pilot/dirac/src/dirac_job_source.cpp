#include "dirac/dirac_job_source.hpp"

#include "dirac/codec.hpp"
#include "dirac/proxy_manager.hpp"
#include "dirac/resource_description.hpp"

namespace pilot::dirac {
namespace {

// The configured URLs of a service, or the default beside the first Matcher.
ServiceClient client_or_beside_matcher(std::vector<std::string> urls, const DiracConfig& c,
                                       std::string (*beside_matcher)(const std::string&),
                                       const log::Logger& log) {
  if (urls.empty() && !c.matcher_urls.empty())
    urls.push_back(beside_matcher(c.matcher_urls.front()));
  return {std::move(urls), c.rpc, log};
}

// DIRAC's JobReport strips every ' from the status fields it sends: v8's JobLoggingDB builds its
// INSERT with '%s' unquoted, and a quote makes the server set the job's attributes but fail the
// LoggingInfo record (MySQL 1064).
std::string without_quotes(std::string s) {
  std::erase(s, '\'');
  return s;
}

// Every client made from these options shares one give-up flag (stop_waiting).
DiracConfig with_give_up_flag(DiracConfig c) {
  if (!c.rpc.give_up) c.rpc.give_up = std::make_shared<std::atomic<bool>>(false);
  return c;
}

PayloadProxyConfig payload_proxy_config(const DiracConfig& c) {
  auto p = c.payload_proxy;
  if (p.dir.empty()) p.dir = c.state_dir / "payload-proxies";
  return p;
}

}  // namespace

DiracJobSource::DiracJobSource(DiracConfig config, log::Logger log)
    : config_(with_give_up_flag(std::move(config))),
      log_(std::move(log)),
      matcher_{config_.matcher_urls, config_.rpc, log_},
      job_state_{config_.job_state_urls, config_.rpc, log_},
      sandbox_store_{config_.sandbox_store_urls, config_.rpc, log_},
      job_manager_{client_or_beside_matcher(config_.job_manager_urls, config_,
                                            default_job_manager_url, log_)},
      buffer_(config_.state_dir / "dirac-reports.json"),
      proxies_(client_or_beside_matcher(config_.proxy_manager_urls, config_,
                                        default_proxy_manager_url, log_),
               payload_proxy_config(config_), log_) {
  if (config_.matcher_urls.empty()) throw Error("DIRAC job source: no Matcher URL configured");
  if (config_.job_state_urls.empty())
    throw Error("DIRAC job source: no JobStateUpdate URL configured");
  if (!buffer_.warning().empty()) log_.warn(buffer_.warning());
  if (buffer_.pending())
    log_.info("job reports left by an earlier pilot will be delivered",
              {{"pending", buffer_.pending()}, {"file", buffer_.file().string()}});
}

std::string DiracJobSource::describe() const {
  return "DIRAC " + config_.matcher_urls.front();
}

std::int64_t DiracJobSource::job_number(const std::string& id) const {
  std::size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(id, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != id.size() || n <= 0)
    throw Error("DIRAC job id '" + id + "' is not a positive integer");
  return n;
}

jobs::ResourceRequest DiracJobSource::fit_to_credential(
    const jobs::ResourceRequest& request) const {
  const auto& cred = config_.rpc.credentials;
  if (cred.cert.empty()) return request;  // token only: its lifetime is the token issuer's business
  CertificateInfo info = read_certificate_info(cred.cert);
  auto check = check_lifetime(info, std::chrono::system_clock::now(), config_.min_proxy_lifetime,
                              config_.proxy_warning);
  if (!check.usable)
    throw Error("refusing to request a job: " + check.message + " (" + cred.cert.string() + ")");
  if (check.warn)
    log_.warn("credential expires soon",
              {{"file", cred.cert.string()}, {"seconds_left", check.left.count()}});
  jobs::ResourceRequest fitted = request;
  // CPU work the proxy can still cover: seconds left x HS06 per processor x processors.
  double power = request.pilot_benchmark > 0 ? request.pilot_benchmark : 0;
  if (power > 0) {
    double covered = static_cast<double>((check.left - config_.min_proxy_lifetime / 2).count()) *
                     power * std::max(1, request.processors);
    if (covered < static_cast<double>(fitted.cpu_work_left_hs06s)) {
      fitted.cpu_work_left_hs06s = static_cast<std::int64_t>(covered);
      log_.info("offer shortened to the credential's lifetime",
                {{"cpu_time", fitted.cpu_work_left_hs06s}, {"seconds_left", check.left.count()}});
    }
  }
  return fitted;
}

std::optional<jobs::MatchedJob> DiracJobSource::request_job(const jobs::ResourceRequest& request) {
  retry_pending_outputs();
  flush();  // reports of earlier jobs first: the server's view should be current
  jobs::ResourceRequest fitted = fit_to_credential(request);
  if (!config_.release_version.empty() && !fitted.extra.contains("ReleaseVersion"))
    fitted.extra["ReleaseVersion"] = config_.release_version;
  if (!config_.release_project.empty() && !fitted.extra.contains("ReleaseProject"))
    fitted.extra["ReleaseProject"] = config_.release_project;
  if (!config_.rpc.vo.empty() && !fitted.extra.contains("VirtualOrganization"))
    fitted.extra["VirtualOrganization"] = config_.rpc.vo;
  Dict description = resource_description(fitted, pilot_info_reported_);
  std::optional<Match> match;
  try {
    match = dirac::request_job(matcher_, description);
  } catch (const VersionMismatch& e) {
    throw jobs::SourceRefusesPilot(e.what());
  }
  if (!match) {
    log_.info("no job matched", {{"site", request.site}, {"cpu_time", fitted.cpu_work_left_hs06s}});
    return std::nullopt;
  }
  pilot_info_reported_ = pilot_info_reported_ || match->pilot_info_reported;
  jobs::MatchedJob job;
  job.id = std::to_string(match->job_id);
  job.jdl = match->jdl;
  job.attributes = to_json(Value(match->raw));
  job.attributes.erase("JDL");
  log_.info("job matched",
            {{"job_id", match->job_id}, {"owner", match->owner}, {"group", match->group}});
  return job;
}

std::chrono::sys_time<std::chrono::milliseconds> next_status_time(
    std::optional<std::chrono::sys_time<std::chrono::milliseconds>> last,
    std::chrono::system_clock::time_point now) {
  auto t = std::chrono::floor<std::chrono::milliseconds>(now);
  if (last && t <= *last) t = *last + std::chrono::milliseconds(1);
  return t;
}

void DiracJobSource::set_status(const std::string& job_id, const jobs::StatusUpdate& update) {
  auto id = job_number(job_id);
  StatusEntry e;
  auto last = last_status_time_.find(id);
  auto t = next_status_time(
      last == last_status_time_.end() ? std::nullopt : std::optional(last->second), update.time);
  last_status_time_[id] = t;
  e.time = utc_datetime(t);
  e.status = without_quotes(update.status);
  e.minor_status = without_quotes(update.minor_status);
  e.application_status = without_quotes(update.application_status);
  e.source = without_quotes(update.source);
  buffer_.add_status(id, std::move(e));
  flush();
}

void DiracJobSource::set_parameters(
    const std::string& job_id, const std::vector<std::pair<std::string, std::string>>& parameters) {
  buffer_.add_parameters(job_number(job_id), parameters);
  flush();
}

std::vector<jobs::Command> DiracJobSource::heartbeat(const std::string& job_id,
                                                     const nlohmann::json& dynamic_data) {
  Dict dynamic;
  std::string peek;
  for (const auto& [k, v] : dynamic_data.items()) {
    if (k == "StandardOutput") {
      peek = v.is_string() ? v.get<std::string>() : v.dump();
      continue;
    }
    // DIRAC's heartbeat values are floats.
    dynamic.set(k, v.is_number() ? Value(v.get<double>()) : value_from_json(v));
  }
  Dict static_data;
  if (!peek.empty()) static_data.set("StandardOutput", peek);
  std::vector<jobs::Command> out;
  for (auto& c : send_heartbeat(job_state_, job_number(job_id), dynamic, static_data)) {
    log_.info("server command", {{"job_id", job_id}, {"command", c.name}});
    out.push_back({c.name, to_json(c.argument)});
  }
  return out;
}

jobs::PreparedJob DiracJobSource::prepare_job(const jobs::MatchedJob& job,
                                              const jobs::JobDescription& description,
                                              const std::filesystem::path& jobdir) {
  jobs::PreparedJob prepared;
  // The credential first: a job that cannot have its owner's proxy fails before anything else.
  if (auto proxy = proxies_.prepare(job.id, job.attributes))
    prepared.environment.emplace_back("X509_USER_PROXY", proxy->string());
  if (!description.input_sandbox.empty()) {
    jobs::StatusUpdate downloading;
    downloading.status = "Running";
    downloading.minor_status = "Downloading InputSandbox";
    set_status(job.id, downloading);
    fetch_input_sandbox(sandbox_store_for(job.id), description.input_sandbox, jobdir,
                        config_.sandbox);
  }
  return prepared;
}

void DiracJobSource::maintain_job(const std::string& job_id) {
  proxies_.maintain(job_id);
}

bool DiracJobSource::adopt_job(const std::string& job_id, const std::filesystem::path&) {
  return proxies_.adopt(job_id);
}

std::vector<jobs::OrphanJob> DiracJobSource::recover_orphans() {
  proxies_.remove_unadopted();
  return {};
}

void DiracJobSource::finish_job(const std::string& job_id, const jobs::FinishedJob& job) {
  // A kept output sandbox keeps the final status with it: the job must not show Done before its
  // outputs are on the server.
  bool ran = !job.record.is_object() || job.record.value("outcome", "") != "not_started";
  bool reschedule = job.final_status && job.final_status->status == "Rescheduled";
  bool kept = ran && !reschedule && job.description && !job.description->output_sandbox.empty() &&
              !deliver_output_sandbox(job_id, job);
  if (job.final_status && !kept) {
    // Stamped now: the newest timestamp wins on the server, so it must follow the output
    // statuses reported while delivering.
    auto last = *job.final_status;
    last.time = std::chrono::system_clock::now();
    set_status(job_id, last);
  }
  if (reschedule) buffer_.add_reschedule(job_number(job_id));
  if (!flush())
    log_.warn(
        "reports of a finished job are kept for later delivery",
        {{"job_id", job_id}, {"pending", buffer_.pending()}, {"file", buffer_.file().string()}});
  proxies_.release(job_id);  // last: everything before may still act as the job's owner
}

void DiracJobSource::stop_waiting() {
  config_.rpc.give_up->store(true);
}

bool DiracJobSource::flush() {
  if (!buffer_.pending()) return true;
  auto r = buffer_.flush(job_state_, job_manager_);
  if (!r.complete)
    log_.warn("job reports not delivered yet, will retry",
              {{"pending", buffer_.pending()}, {"error", r.error}});
  return r.complete;
}

}  // namespace pilot::dirac
