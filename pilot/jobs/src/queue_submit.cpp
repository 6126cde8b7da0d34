#include <sys/stat.h>
#include <cerrno>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/local_queue.hpp"
#include "queue_store.hpp"

namespace pilot::jobs {

std::string submit_job(const std::filesystem::path& root, std::string_view jdl_text,
                       std::string_view source, const std::filesystem::path& input_base) {
  auto job = parse_job_description(jdl_text, source);  // rejects it before anything is written
  queue::ensure_layout(root, true);
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto now = std::chrono::system_clock::now();
    std::string id = queue::new_job_id(now);
    auto staging = root / "tmp" / id;
    if (::mkdir(staging.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      throw_errno("cannot create " + staging.string(), errno);
    }
    try {
      write_file_atomic(staging / "job.jdl", jdl_text);
      queue::store_input_files(job, input_base, staging);
      auto status = queue::new_status(id, job.job_name, job.executable, now);
      queue::apply_status(status, {"Waiting", "Job accepted", "", now, "pilot queue submit"});
      queue::write_status(staging, status);
      // A non-empty directory is never replaced by rename(2): an id taken meanwhile fails here.
      if (queue::rename_if_present(staging, root / "pending" / id)) {
        if (!queue::find_state(root, id)) throw Error("job " + id + " vanished after submission");
        return id;
      }
    } catch (...) {  // the staging directory goes whatever failed; the error itself is rethrown
      std::error_code ec;
      std::filesystem::remove_all(staging, ec);
      throw;
    }
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  }
  throw Error("cannot find a free job id in " + root.string());
}

}  // namespace pilot::jobs
