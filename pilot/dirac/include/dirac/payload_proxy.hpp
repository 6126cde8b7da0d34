#pragma once
// The payload's copy of its owner's proxy: one file per job in a pilot-private directory (0700),
// outside the job directory so no output sandbox pattern can pick it up, written atomically with
// mode 0600 from its creation, replaced in place when renewed so a reader always sees a whole
// proxy, and removed when the job ends.

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/log.hpp"
#include "dirac/proxy_manager.hpp"
#include "dirac/services.hpp"

namespace pilot::dirac {

// "<dir>/x509up_job_<job id>"; `dir` is created with mode 0700 (an existing one is tightened).
std::filesystem::path payload_proxy_path(const std::filesystem::path& dir,
                                         const std::string& job_id);

// Writes through a 0600 temporary file renamed over `file`. Throws pilot::Error naming the file.
void write_payload_proxy(const std::filesystem::path& file, const std::string& contents);

// DIRAC checks the payload's proxy every hour and renews it when less than three hours remain.
struct ProxyRenewalPolicy {
  std::chrono::seconds check_every{3600};
  std::chrono::seconds renew_before{3 * 3600};
};

struct PayloadProxyState {
  std::filesystem::path file;
  std::string owner, group;
  std::chrono::system_clock::time_point not_after;
  std::chrono::steady_clock::time_point last_check;  // of the remaining lifetime
  bool expiry_reported = false;
};

// Whether it is time to look (check_every since the last check) and the proxy is short of
// renew_before. Updates last_check when it looks.
bool renewal_due(PayloadProxyState& state, std::chrono::system_clock::time_point now,
                 std::chrono::steady_clock::time_point steady_now,
                 const ProxyRenewalPolicy& policy);

struct PayloadProxyConfig {
  std::filesystem::path dir;  // pilot-private directory of the proxy files
  bool required = true;       // a job with an owner whose proxy cannot be had fails
  PayloadProxyOptions request;
  ProxyRenewalPolicy renewal;
};

// The payload proxies of the running jobs. Thread-safe. One pilot owns the directory: the
// proxy files found there when it starts are an earlier pilot's: those of the jobs it adopts are
// renewed and kept (each proxy's owner and group are kept beside it, in "<file>.owner"), the
// others removed once the adoptions are done.
class PayloadProxyKeeper {
 public:
  PayloadProxyKeeper(ServiceClient proxy_manager, PayloadProxyConfig config, log::Logger log);

  // For a job whose Matcher attributes carry an owner (`DN`, or v9 `Owner`) and a `Group`: gets
  // the owner's proxy and writes the job's file; returns its path (nullopt for a job without an
  // owner, or when the proxy is not required and could not be had). Throws
  // jobs::JobPreparationError("Failed to setup proxy", reason) when it is required.
  std::optional<std::filesystem::path> prepare(const std::string& job_id,
                                               const nlohmann::json& attributes);
  // Renews the job's proxy when due; a failure is logged and retried at the next call, an
  // expired proxy reported once. No-op for a job without one.
  void maintain(const std::string& job_id);
  // The job's proxy file, while it has one.
  std::optional<std::filesystem::path> file(const std::string& job_id);
  // Removes the job's proxy file.
  void release(const std::string& job_id);

  // A lost pilot's job whose payload still runs, with the proxy file its payload reads: renewed
  // now for the owner recorded beside it, then maintained as this keeper's own. True for a job
  // that had no proxy (no owner: it runs with the pilot's identity); false when its owner is not
  // known or the proxy cannot be had (logged).
  bool adopt(const std::string& job_id);
  // The proxy files of earlier pilots' jobs that were not adopted: removed (a credential must not
  // linger).
  void remove_unadopted();

 private:
  void fetch(PayloadProxyState& state);

  ServiceClient pm_;
  PayloadProxyConfig config_;
  log::Logger log_;
  std::mutex mutex_;
  std::map<std::string, PayloadProxyState> jobs_;
};

}  // namespace pilot::dirac
