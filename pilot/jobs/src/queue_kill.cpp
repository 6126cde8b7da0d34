#include <unistd.h>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "jobs/local_queue.hpp"
#include "queue_store.hpp"

namespace pilot::jobs {

std::string kill_job(const std::filesystem::path& root, const std::string& id) {
  auto now = std::chrono::system_clock::now();
  std::string who =
      "pilot queue kill on " + queue::host_name() + " pid " + std::to_string(::getpid());
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto state = queue::find_state(root, id);
    if (!state) throw Error("no job " + id + " in " + root.string());
    if (*state == "done") return "done";
    if (*state == "running") {
      auto dir = root / "running" / id;
      try {
        write_file_atomic(dir / "kill", queue::utc_text(now) + " " + who + "\n");
        return "running";
      } catch (const Error&) {
        continue;  // finished or requeued meanwhile
      }
    }
    // Pending: take it like a pilot would, then file it as killed.
    auto claimed = root / "running" / id;
    if (!queue::rename_if_present(root / "pending" / id, claimed)) continue;
    auto status = queue::read_status(claimed);
    queue::apply_status(status, {"Killed", "Killed by operator", "", now, who});
    status["finished"] = queue::utc_text(now);
    queue::write_status(claimed, status);
    if (!queue::rename_if_present(claimed, root / "done" / id))
      throw Error("cannot move killed job " + id + " to done/");
    return "pending";
  }
  throw Error("job " + id + " keeps moving between states; try again");
}

}  // namespace pilot::jobs
