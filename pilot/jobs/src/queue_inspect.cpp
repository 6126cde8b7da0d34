// Read-only views of the local queue for operators.

#include <algorithm>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/zstd_file.hpp"
#include "jobs/local_queue.hpp"
#include "queue_store.hpp"

namespace pilot::jobs {

namespace fs = std::filesystem;

std::vector<QueueEntry> list_jobs(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec))
    throw Error("queue directory " + root.string() + " does not exist");
  std::vector<QueueEntry> out;
  for (const char* state : queue::kStates) {
    fs::directory_iterator it(root / state, ec);
    if (ec) continue;  // a queue nothing was submitted to yet
    for (const auto& e : it) {
      std::string id = e.path().filename().string();
      if (!queue::is_job_id(id) || !e.is_directory(ec)) continue;
      QueueEntry entry{id, state, nlohmann::json::object()};
      try {
        entry.status = queue::read_status(e.path());
      } catch (const Error& err) {
        // Moved on between listing and reading, or damaged: show what is known.
        entry.status = {{"id", id}, {"problems", {err.what()}}};
      }
      out.push_back(std::move(entry));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::optional<nlohmann::json> show_job(const fs::path& root, const std::string& id) {
  // The job may move between states while it is read: look again once.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto state = queue::find_state(root, id);
    if (!state) return std::nullopt;
    auto dir = root / *state / id;
    try {
      auto status = queue::read_status(dir);
      status["state"] = *state;
      status["jdl"] = read_file(dir / "job.jdl").value_or("");
      return status;
    } catch (const Error&) {
      if (queue::find_state(root, id) == state) throw;
    }
  }
  throw Error("job " + id + " keeps moving between states; try again");
}

bool write_job_log(const fs::path& root, const std::string& id, const std::string& name,
                   std::ostream& out) {
  auto status = show_job(root, id);
  if (!status) throw Error("no job " + id + " in " + root.string());
  for (const auto& log : (*status)["logs"]) {
    if (!log.is_object() || log.value("name", "") != name) continue;
    fs::path file = log.value("file", "");
    if (file.empty() || file.is_absolute() || file.string().find("..") != std::string::npos)
      throw Error("job " + id + " names its log " + name + " with a bad path " + file.string());
    pilot::decompress_to(root / "done" / id / file, out);
    return true;
  }
  return false;
}

}  // namespace pilot::jobs
