// DiracJobSource's output sandbox delivery: pack, keep on disk, upload, then report.

#include "core/error.hpp"
#include "dirac/dirac_job_source.hpp"

namespace pilot::dirac {
namespace {

// DIRAC's JobWrapper uploads a failed job's output sandbox too, but reports the upload only for
// a job that has not failed: its Failed status must not be overwritten by Completing.
bool reports_upload(const PendingOutput& pending) {
  return !pending.final_status || pending.final_status->status != "Failed";
}

}  // namespace

bool DiracJobSource::deliver_output_sandbox(const std::string& job_id,
                                            const jobs::FinishedJob& job) {
  std::int64_t n = job_number(job_id);
  if (sandbox_store_.urls.empty()) {
    log_.warn(
        "the job has an OutputSandbox but no SandboxStore is configured (services.sandbox_store): "
        "not uploaded",
        {{"job_id", job_id}});
    return true;
  }
  PendingOutput pending{n, pending_output_dir(config_.state_dir, n), job.final_status};
  if (reports_upload(pending)) {
    jobs::StatusUpdate uploading;
    uploading.status = "Completing";
    uploading.minor_status = "Uploading Output Sandbox";
    set_status(job_id, uploading);
  }
  try {
    std::filesystem::create_directories(pending.dir);
    auto packed = pack_output_sandbox(job.workdir, *job.description, job.record,
                                      pending.dir / "sandbox.tar.bz2");
    if (!packed.unmatched.empty()) {
      std::string names;
      for (const auto& u : packed.unmatched) names += (names.empty() ? "" : ", ") + u;
      log_.warn("OutputSandbox entries matched no file", {{"job_id", job_id}, {"entries", names}});
      set_parameters(job_id, {{"OutputSandboxMissingFiles", names}});
    }
    log_.info("output sandbox packed", {{"job_id", job_id}, {"files", packed.files.size()}});
    keep_pending_output(pending);  // before the upload: a crash during it loses nothing
  } catch (const std::exception& e) {
    // Nothing to deliver can be made (disk full, unreadable outputs): the job's statuses go on.
    log_.error("cannot pack the output sandbox", {{"job_id", job_id}, {"error", e.what()}});
    set_parameters(job_id, {{"OutputSandboxError", e.what()}});
    std::error_code ec;
    std::filesystem::remove_all(pending.dir, ec);
    return true;
  }
  return upload_pending(pending, sandbox_store_for(job_id));
}

ServiceClient DiracJobSource::sandbox_store_for(const std::string& job_id) {
  ServiceClient store = sandbox_store_;
  if (auto proxy = proxies_.file(job_id)) {
    store.options.credentials.cert = *proxy;
    store.options.credentials.key.clear();
    store.options.credentials.host = false;
  }
  return store;
}

bool DiracJobSource::upload_pending(const PendingOutput& pending, const ServiceClient& store) {
  std::string id = std::to_string(pending.job_id);
  auto ref =
      upload_with_retries(store, pending.dir / "sandbox.tar.bz2", pending.job_id, config_.sandbox);
  if (!ref) {
    log_.warn("output sandbox kept for a later upload",
              {{"job_id", id}, {"dir", pending.dir.string()}});
    next_output_retry_ = std::chrono::steady_clock::now() + config_.pending_output_retry;
    return false;
  }
  log_.info("output sandbox uploaded", {{"job_id", id}, {"sandbox", *ref}});
  if (reports_upload(pending)) {
    jobs::StatusUpdate uploaded;
    uploaded.status = "Completing";
    uploaded.minor_status = "Output Sandbox Uploaded";
    set_status(id, uploaded);
  }
  std::error_code ec;
  std::filesystem::remove_all(pending.dir, ec);
  return true;
}

std::size_t DiracJobSource::retry_pending_outputs() {
  auto pending = list_pending_outputs(config_.state_dir, log_);
  if (pending.empty() || std::chrono::steady_clock::now() < next_output_retry_)
    return pending.size();
  std::size_t left = 0;
  for (const auto& p : pending) {
    // The owner's proxy went with its pilot: a later pilot delivers as itself.
    if (sandbox_store_.urls.empty() || !upload_pending(p, sandbox_store_)) {
      ++left;
      continue;
    }
    if (p.final_status) {
      auto last = *p.final_status;
      last.time = std::chrono::system_clock::now();  // after "Output Sandbox Uploaded"
      set_status(std::to_string(p.job_id), last);
    }
  }
  return left;
}

}  // namespace pilot::dirac
