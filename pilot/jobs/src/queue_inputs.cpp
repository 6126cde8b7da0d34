#include "core/error.hpp"
#include "jobs/job_source.hpp"
#include "queue_store.hpp"

namespace pilot::jobs::queue {
namespace {

namespace fs = std::filesystem;

bool is_reference(const std::string& entry) {
  auto upper = entry.substr(0, 4);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper.starts_with("SB:") || upper.starts_with("LFN:");
}

}  // namespace

void store_input_files(const JobDescription& job, const fs::path& base, const fs::path& job_dir) {
  for (const auto& entry : job.input_sandbox) {
    if (is_reference(entry))
      throw Error("InputSandbox entry '" + entry +
                  "': the local queue takes plain files only (no SB: or LFN:)");
    fs::path src = fs::path(entry).is_absolute() || base.empty() ? fs::path(entry) : base / entry;
    std::string name = input_file_name(entry);
    std::error_code ec;
    if (name.empty() || name == "." || name == ".." || !fs::exists(src, ec))
      throw Error("InputSandbox entry '" + entry + "': no such file (" + src.string() + ")");
    fs::create_directories(job_dir / "input", ec);
    fs::copy(src, job_dir / "input" / name,
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             ec);
    if (ec)
      throw Error("InputSandbox entry '" + entry + "': cannot copy " + src.string() + ": " +
                  ec.message());
  }
}

void copy_input_files(const JobDescription& job, const fs::path& job_dir, const fs::path& workdir) {
  for (const auto& entry : job.input_sandbox) {
    if (is_reference(entry))
      throw JobPreparationError(
          "Failed Downloading InputSandbox",
          "InputSandbox entry '" + entry + "': the local queue takes plain files only");
    fs::path stored = job_dir / "input" / input_file_name(entry);
    std::error_code ec;
    if (!fs::exists(fs::symlink_status(stored, ec)))
      throw JobPreparationError("Failed Downloading InputSandbox",
                                "InputSandbox entry '" + entry + "' was not stored with the job (" +
                                    stored.string() + ")");
    fs::copy(stored, workdir / input_file_name(entry),
             fs::copy_options::recursive | fs::copy_options::copy_symlinks |
                 fs::copy_options::overwrite_existing,
             ec);
    if (ec)
      throw JobPreparationError("Failed Downloading InputSandbox",
                                "InputSandbox entry '" + entry + "': cannot copy into " +
                                    workdir.string() + ": " + ec.message());
  }
}

}  // namespace pilot::jobs::queue
