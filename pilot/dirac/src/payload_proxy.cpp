#include "dirac/payload_proxy.hpp"

#include <sys/stat.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/job_source.hpp"

namespace pilot::dirac {
namespace fs = std::filesystem;

fs::path payload_proxy_path(const fs::path& dir, const std::string& job_id) {
  if (job_id.empty() || job_id.find('/') != std::string::npos || job_id == "." || job_id == "..")
    throw Error("payload proxy: job id '" + job_id + "' cannot name a file");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("payload proxy: cannot create " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0)
    throw_errno("payload proxy: cannot make " + dir.string() + " private", errno);
  return dir / ("x509up_job_" + job_id);
}

void write_payload_proxy(const fs::path& file, const std::string& contents) {
  // write_file_atomic creates its temporary file with mkostemp: 0600 from the first byte.
  write_file_atomic(file, contents, 0600);
}

bool renewal_due(PayloadProxyState& state, std::chrono::system_clock::time_point now,
                 std::chrono::steady_clock::time_point steady_now,
                 const ProxyRenewalPolicy& policy) {
  if (steady_now - state.last_check < policy.check_every) return false;
  state.last_check = steady_now;
  return state.not_after - now < policy.renew_before;
}

}  // namespace pilot::dirac

namespace pilot::dirac {

PayloadProxyKeeper::PayloadProxyKeeper(ServiceClient proxy_manager, PayloadProxyConfig config,
                                       log::Logger log)
    : pm_(std::move(proxy_manager)), config_(std::move(config)), log_(std::move(log)) {}

namespace {

fs::path owner_file(const fs::path& proxy_file) {
  return proxy_file.string() + ".owner";
}

// The job id of a proxy file, its owner file or a temporary file of either; empty for another
// file.
std::string proxy_file_job(const std::string& name) {
  for (std::string_view prefix : {"x509up_job_", ".x509up_job_"})
    if (name.starts_with(prefix)) {
      auto rest = name.substr(prefix.size());
      return rest.substr(0, rest.find('.'));
    }
  return "";
}

}  // namespace

void PayloadProxyKeeper::remove_unadopted() {
  // A pilot that was SIGKILLed never released its jobs' proxies; those of jobs not adopted are
  // needed by no one (a recovered job's outputs go with this pilot's identity).
  std::lock_guard lock(mutex_);
  std::error_code ec;
  std::size_t removed = 0;
  for (auto it = fs::directory_iterator(config_.dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    auto job = proxy_file_job(it->path().filename().string());
    if (job.empty() || jobs_.count(job)) continue;
    std::error_code rm;
    if (fs::remove(it->path(), rm))
      ++removed;
    else
      log_.warn("cannot remove a stale payload proxy",
                {{"file", it->path().string()}, {"error", rm.message()}});
  }
  if (removed)
    log_.warn("removed payload proxies left by an earlier pilot",
              {{"dir", config_.dir.string()}, {"files", removed}});
}

void PayloadProxyKeeper::fetch(PayloadProxyState& state) {
  DelegatedProxy p = delegate_payload_proxy(pm_, state.owner, state.group, config_.request, log_);
  write_payload_proxy(state.file, p.file);
  state.not_after = p.not_after;
  state.expiry_reported = false;
  log_.info("payload proxy written",
            {{"file", state.file.string()},
             {"subject", p.subject},
             {"group", state.group},
             {"limited", p.limited},
             {"seconds_left", std::chrono::duration_cast<std::chrono::seconds>(
                                  p.not_after - std::chrono::system_clock::now())
                                  .count()}});
}

std::optional<fs::path> PayloadProxyKeeper::prepare(const std::string& job_id,
                                                    const nlohmann::json& attributes) {
  auto text = [&](const char* key) {
    auto it = attributes.find(key);
    return it != attributes.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  PayloadProxyState state;
  state.owner = text("DN");
  if (state.owner.empty()) state.owner = text("Owner");
  state.group = text("Group");
  if (state.owner.empty() && state.group.empty())
    return std::nullopt;  // runs with the pilot's identity
  try {
    if (state.owner.empty() || state.group.empty())
      throw Error("the Matcher gave the job " +
                  std::string(state.owner.empty() ? "no owner (DN/Owner)" : "no Group"));
    state.file = payload_proxy_path(config_.dir, job_id);
    fetch(state);
  } catch (const std::exception& e) {
    std::string reason = "cannot get the proxy of " + state.owner + " (group " + state.group +
                         ") for job " + job_id + ": " + e.what();
    if (config_.required) throw jobs::JobPreparationError("Failed to setup proxy", reason);
    log_.warn("payload runs without its owner's proxy", {{"job_id", job_id}, {"error", reason}});
    return std::nullopt;
  }
  state.last_check = std::chrono::steady_clock::now();
  auto file = state.file;
  // A later pilot adopting the job renews the proxy for the same owner.
  write_file_atomic(owner_file(file),
                    nlohmann::json{{"owner", state.owner}, {"group", state.group}}.dump() + "\n",
                    0600);
  std::lock_guard lock(mutex_);
  jobs_[job_id] = std::move(state);
  return file;
}

bool PayloadProxyKeeper::adopt(const std::string& job_id) {
  PayloadProxyState state;
  state.file = payload_proxy_path(config_.dir, job_id);
  try {
    auto owner = read_file(owner_file(state.file));
    if (!owner) {
      if (!fs::exists(state.file)) return true;  // it runs with the pilot's identity
      throw Error("its owner was not recorded beside it");
    }
    auto j = nlohmann::json::parse(*owner);
    state.owner = j.at("owner").get<std::string>();
    state.group = j.at("group").get<std::string>();
    fetch(state);
  } catch (const std::exception& e) {
    log_.warn("cannot renew the proxy of a lost pilot's job",
              {{"job_id", job_id}, {"file", state.file.string()}, {"error", e.what()}});
    return false;
  }
  state.last_check = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  jobs_[job_id] = std::move(state);
  return true;
}

void PayloadProxyKeeper::maintain(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  auto& state = it->second;
  auto now = std::chrono::system_clock::now();
  if (!renewal_due(state, now, std::chrono::steady_clock::now(), config_.renewal)) return;
  try {
    fetch(state);
  } catch (const std::exception& e) {
    state.last_check = {};  // try again at the next call
    bool expired = state.not_after <= now;
    log_.warn("payload proxy renewal failed, will retry", {{"job_id", job_id},
                                                           {"file", state.file.string()},
                                                           {"expired", expired},
                                                           {"error", std::string(e.what())}});
    if (expired && !state.expiry_reported) {
      state.expiry_reported = true;
      log_.error("the payload's proxy has expired", {{"job_id", job_id}, {"owner", state.owner}});
    }
  }
}

std::optional<std::filesystem::path> PayloadProxyKeeper::file(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return std::nullopt;
  return it->second.file;
}

void PayloadProxyKeeper::release(const std::string& job_id) {
  std::lock_guard lock(mutex_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  for (const auto& f : {it->second.file, owner_file(it->second.file)}) {
    std::error_code ec;
    fs::remove(f, ec);
    if (ec)
      log_.warn("cannot remove the payload proxy", {{"file", f.string()}, {"error", ec.message()}});
  }
  jobs_.erase(it);
}

}  // namespace pilot::dirac
