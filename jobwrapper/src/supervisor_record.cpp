// Writing job.json, with the disk reserve that lets the last writes succeed on a full disk.

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

void Supervisor::State::save() {
  try {
    save_job_record(spec.workdir, rec);
    return;
  } catch (const std::exception& e) {
    if (!release_reserve()) {
      // The payload keeps running; the failure is in both logs and the next save retries.
      note(log::Level::error, "cannot write the job record",
           {{"file", (spec.workdir / kJobRecordName).string()}, {"error", e.what()}});
      return;
    }
    note(log::Level::warn,
         "job directory full: the wrapper's disk reserve is released for its record",
         {{"error", e.what()}, {"reserve_bytes", static_cast<std::int64_t>(kReserveBytes)}});
  }
  try {
    save_job_record(spec.workdir, rec);
  } catch (const std::exception& e) {
    note(log::Level::error, "cannot write the job record",
         {{"file", (spec.workdir / kJobRecordName).string()}, {"error", e.what()}});
  }
}

void Supervisor::State::make_reserve() {
  auto path = spec.workdir / kReserveName;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  int rc = fd.get() < 0 ? errno : ::posix_fallocate(fd.get(), 0, kReserveBytes);
  if (rc != 0) {
    std::error_code ec;
    std::filesystem::remove(path, ec);
    note(log::Level::warn, "cannot reserve disk space for the job record",
         {{"file", path.string()}, {"error", std::string(std::strerror(rc))}});
  }
}

bool Supervisor::State::release_reserve() {
  std::error_code ec;
  return std::filesystem::remove(spec.workdir / kReserveName, ec);
}

}  // namespace pilot::jobwrapper
