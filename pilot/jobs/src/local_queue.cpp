// The pilot side of the local queue: claim a matching job, report on it, file its results.

#include "jobs/local_queue.hpp"

#include <algorithm>
#include <limits>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/trace.hpp"
#include "job_results.hpp"
#include "queue_store.hpp"

namespace pilot::jobs {

namespace fs = std::filesystem;
using Clock = std::chrono::system_clock;

LocalQueue::LocalQueue(LocalQueueOptions options) : options_(std::move(options)) {
  queue::ensure_layout(options_.root, false);
}

std::string LocalQueue::describe() const {
  return "queue " + options_.root.string();
}

fs::path LocalQueue::running_dir(const std::string& job_id) const {
  queue::check_job_id(job_id);
  auto dir = options_.root / "running" / job_id;
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("job " + job_id + " is not running in " + describe() +
                " (finished, killed or requeued by `pilot queue recover`?)");
  return dir;
}

void LocalQueue::reject_invalid(const std::string& id, const std::string& error) {
  // Claim it first, so two pilots never both file it.
  auto claimed = options_.root / "running" / id;
  if (!queue::rename_if_present(options_.root / "pending" / id, claimed)) return;
  nlohmann::json status;
  try {
    status = queue::read_status(claimed);
  } catch (const Error& e) {
    status = queue::new_status(id, "", "", Clock::now());
    status["problems"].push_back(e.what());
  }
  // The same status the agent reports for a DIRAC job whose description it cannot read.
  queue::apply_status(status, {"Failed", "Job description invalid", error.substr(0, 255),
                               Clock::now(), "LocalQueue"});
  status["problems"].push_back(error);
  status["finished"] = queue::utc_text(Clock::now());
  queue::write_status(claimed, status);
  queue::rename_if_present(claimed, options_.root / "done" / id);
  options_.logger.warn("invalid job moved to done/", {{"job_id", id}, {"error", error}});
}

void LocalQueue::write_claim(const std::filesystem::path& dir, int processors) const {
  auto status = queue::read_status(dir);
  auto now = Clock::now();
  auto owner = queue::self_owner(options_.proc_root);
  owner.workdir = options_.pilot_workdir.string();
  status["owner"] = queue::owner_json(owner, now);
  status["processors"] = processors;
  queue::apply_status(status, {"Matched", "Assigned", "", now, "LocalQueue"});
  queue::write_status(dir, status);
}

bool LocalQueue::adopt_job(const std::string& job_id, const std::filesystem::path& jobdir) {
  std::lock_guard lock(mutex_);
  queue::check_job_id(job_id);
  auto dir = options_.root / "running" / job_id;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return false;  // filed, or requeued meanwhile
  auto status = queue::read_status(dir);
  auto owner = queue::owner_from_json(status.value("owner", nlohmann::json()));
  std::string why;
  if (!owner || queue::owner_liveness(*owner, options_.proc_root, &why) != queue::Liveness::dead)
    return false;
  auto self = queue::self_owner(options_.proc_root);
  self.workdir = jobdir.parent_path().string();
  status["owner"] = queue::owner_json(self, Clock::now());
  queue::write_status(dir, status);
  options_.logger.warn("this pilot owns a lost pilot's running job",
                       {{"job_id", job_id}, {"lost_pilot", owner->pid}, {"why", why}});
  return true;
}

std::optional<MatchedJob> LocalQueue::request_job(const ResourceRequest& request) {
  trace::Phase timed("queue.claim");
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  std::error_code ec;
  fs::directory_iterator it(options_.root / "pending", ec);
  if (ec) throw Error("cannot list " + (options_.root / "pending").string() + ": " + ec.message());
  for (const auto& e : it)
    if (queue::is_job_id(e.path().filename().string())) ids.push_back(e.path().filename().string());
  std::sort(ids.begin(), ids.end());

  // Parse what is new; forget what others took.
  std::map<std::string, Candidate> seen;
  for (const auto& id : ids) {
    if (auto c = cache_.find(id); c != cache_.end()) {
      seen.insert(cache_.extract(c));
      continue;
    }
    auto text = read_file(options_.root / "pending" / id / "job.jdl", JdlLimits{}.max_bytes + 1);
    if (!text) continue;  // claimed meanwhile, or a submission without JDL
    Candidate cand;
    cand.jdl = std::move(*text);
    try {
      cand.description = parse_job_description(cand.jdl, "job " + id);
    } catch (const Error& e) {
      cand.error = e.what();
    }
    seen.emplace(id, std::move(cand));
  }
  cache_ = std::move(seen);

  std::vector<const std::string*> order;
  for (const auto& [id, cand] : cache_) order.push_back(&id);
  // Invalid JDLs first (they are filed as failed, so they never block the queue), then by
  // Priority; the listing is sorted by id, i.e. submission time, for equal priorities.
  auto rank = [&](const std::string* id) {
    const auto& d = cache_[*id].description;
    return d ? d->priority : std::numeric_limits<std::int64_t>::max();
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](const std::string* a, const std::string* b) { return rank(a) > rank(b); });

  for (const std::string* idp : order) {
    std::string id = *idp;
    Candidate& cand = cache_[id];
    if (!cand.description) {
      reject_invalid(id, cand.error);
      continue;
    }
    auto m = match_job(*cand.description, request, options_.platform_ok);
    if (!m.matched) {
      options_.logger.debug("job not matched", {{"job_id", id}, {"reason", m.reason}});
      continue;
    }
    auto from = options_.root / "pending" / id;
    auto to = options_.root / "running" / id;
    if (!queue::rename_if_present(from, to)) continue;  // another pilot was faster
    try {
      write_claim(to, m.processors);
    } catch (...) {  // the claim is undone whatever failed; the error itself is rethrown
      queue::rename_if_present(to, from);  // leave it to others rather than half-claimed
      throw;
    }
    MatchedJob job;
    job.id = id;
    job.jdl = std::move(cand.jdl);
    job.attributes = {
        {"JobID", id}, {"Queue", options_.root.string()}, {"Processors", m.processors}};
    if (!cand.description->owner.empty()) job.attributes["Owner"] = cand.description->owner;
    if (!cand.description->owner_group.empty())
      job.attributes["OwnerGroup"] = cand.description->owner_group;
    cache_.erase(id);
    options_.logger.info("job claimed", {{"job_id", id}, {"processors", m.processors}});
    return job;
  }
  return std::nullopt;
}

PreparedJob LocalQueue::prepare_job(const MatchedJob& job, const JobDescription& description,
                                    const std::filesystem::path& jobdir) {
  if (!description.input_sandbox.empty()) {
    std::filesystem::path dir;
    {
      std::lock_guard lock(mutex_);
      dir = running_dir(job.id);
    }
    queue::copy_input_files(description, dir, jobdir);
  }
  return {};
}

namespace {

// Whether <root>/<state> holds a job; true when it cannot be read (cannot tell: keep asking).
bool holds_a_job(const fs::path& root, const char* state) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(root / state, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    if (queue::is_job_id(it->path().filename().string())) return true;
  return static_cast<bool>(ec);
}

}  // namespace

bool LocalQueue::holds_no_jobs() const {
  return !holds_a_job(options_.root, "pending") && !holds_a_job(options_.root, "running");
}

bool LocalQueue::has_pending_jobs() const {
  return holds_a_job(options_.root, "pending");
}

std::vector<OrphanJob> LocalQueue::recover_orphans() {
  auto ownerless = [&] {
    std::set<std::string> ids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(options_.root / "running", ec)) {
      try {
        if (queue::read_status(e.path()).value("owner", nlohmann::json()).is_null())
          ids.insert(e.path().filename().string());
      } catch (const Error&) {
        // recover_jobs reports unreadable status files itself
      }
    }
    return ids;
  };
  RecoverOptions o;
  o.proc_root = options_.proc_root;
  o.held_by_job_dir = options_.held_by_job_dir;
  o.ownerless.emplace();
  if (auto first = ownerless(); !first.empty()) {
    std::this_thread::sleep_for(std::chrono::seconds(3));
    for (const auto& id : ownerless())
      if (first.count(id)) o.ownerless->insert(id);
  }
  std::lock_guard lock(mutex_);
  std::vector<OrphanJob> held;
  for (const auto& a : recover_jobs(options_.root, o)) {
    if (a.verdict == "held") {
      // This pilot reports it as if it were its own: it must not wait for the next pilot there.
      if (a.pilot_workdir != options_.pilot_workdir) held.push_back({a.id, a.pilot_workdir});
      options_.logger.warn("job of a lost pilot of this node held by its work directory",
                           {{"job_id", a.id}, {"owner", a.owner}, {"reason", a.reason}});
    } else if (a.verdict != "alive" && a.verdict != "unknown") {
      options_.logger.warn(
          "job claimed by a lost pilot of this node, put back",
          {{"job_id", a.id}, {"owner", a.owner}, {"verdict", a.verdict}, {"reason", a.reason}});
    }
  }
  return held;
}

void LocalQueue::set_status(const std::string& job_id, const StatusUpdate& update) {
  report(job_id, {JobReport{update, {}}});
}

void LocalQueue::report(const std::string& job_id, const std::vector<JobReport>& reports) {
  trace::Phase timed("queue.report");
  std::lock_guard lock(mutex_);
  auto dir = running_dir(job_id);
  auto status = queue::read_status(dir);
  // A pilot killed after filing the job but before moving it left it here; the pilot recovering
  // it reports it again, and the first filing stands.
  if (queue::filed(status)) return;
  for (const auto& r : reports) {
    if (r.status)
      queue::apply_status(status, *r.status);
    else
      for (const auto& [name, value] : r.parameters) status["parameters"][name] = value;
  }
  queue::write_status(dir, status);
}

void LocalQueue::set_parameters(
    const std::string& job_id, const std::vector<std::pair<std::string, std::string>>& parameters) {
  report(job_id, {JobReport{std::nullopt, parameters}});
}

std::vector<Command> LocalQueue::heartbeat(const std::string& job_id,
                                           const nlohmann::json& dynamic_data) {
  trace::Phase timed("queue.heartbeat");
  std::lock_guard lock(mutex_);
  auto dir = running_dir(job_id);
  auto status = queue::read_status(dir);
  auto& hb = status["heartbeat"];
  if (!hb.is_object()) hb = nlohmann::json::object();
  hb["count"] = queue::status_count(hb, "count") + 1;
  hb["last"] = queue::utc_text(Clock::now());
  hb["data"] = dynamic_data;
  queue::write_status(dir, status);
  std::vector<Command> commands;
  if (auto kill = read_file(dir / "kill", 1 << 16))
    commands.push_back({"Kill", nlohmann::json::object({{"requested", *kill}})});
  return commands;
}

// The job's outputs, logs and final status into its directory: everything done/ will hold.
void LocalQueue::file_results(const fs::path& dir, const std::string& job_id,
                              const FinishedJob& job, bool rescheduled,
                              nlohmann::json& status) const {
  std::optional<JobDescription> description;
  try {
    description = parse_job_description(read_file(dir / "job.jdl").value_or(""), "job " + job_id);
  } catch (const Error& e) {
    status["problems"].push_back(std::string("cannot read the job's JDL: ") + e.what());
  }
  detail::ResultLimits limits{options_.max_log_bytes, options_.max_output_bytes};
  detail::collect_results(dir, job, description ? &*description : nullptr, limits, status);
  if (job.final_status && !rescheduled) queue::apply_status(status, *job.final_status);
  status["finished"] = queue::utc_text(Clock::now());
  write_file_atomic(dir / "job.json", job.record.dump(2) + "\n");
  queue::write_status(dir, status);
  for (const auto& p : status["problems"])
    options_.logger.warn(
        "job result problem",
        {{"job_id", job_id}, {"problem", p.is_string() ? p.get<std::string>() : p.dump()}});
}

void LocalQueue::finish_job(const std::string& job_id, const FinishedJob& job) {
  trace::Phase timed("queue.file");
  std::lock_guard lock(mutex_);
  auto dir = running_dir(job_id);
  auto status = queue::read_status(dir);
  // A pilot killed between filing the job and moving it left it here: that filing stands.
  bool filed_before = queue::filed(status);
  bool rescheduled = job.final_status && job.final_status->status == "Rescheduled";
  if (rescheduled && !filed_before) {
    queue::apply_status(status, *job.final_status);
    auto now = Clock::now();
    std::string why =
        job.final_status->minor_status.empty() ? "Rescheduled" : job.final_status->minor_status;
    if (queue::reschedule(status, why,
                          "rescheduled " +
                              std::to_string(queue::status_count(status, "reschedules")) +
                              " times; its payload asked again (" + why + ")",
                          options_.max_reschedules, now, "LocalQueue")) {
      queue::write_status(dir, status);
      if (!queue::rename_if_present(dir, options_.root / "pending" / job_id))
        throw Error("cannot requeue job " + job_id +
                    ": it is gone from running/ or pending/ has it");
      options_.logger.info(
          "job rescheduled",
          {{"job_id", job_id}, {"reschedules", queue::status_count(status, "reschedules")}});
      return;
    }
  }
  if (filed_before) {
    options_.logger.warn("job filed by a lost pilot before it was moved; the filing stands",
                         {{"job_id", job_id}, {"status", status.value("status", "")}});
  } else {
    file_results(dir, job_id, job, rescheduled, status);
  }
  if (!queue::rename_if_present(dir, options_.root / "done" / job_id))
    throw Error("cannot move job " + job_id + " to " + (options_.root / "done").string() +
                ": it is gone from running/ or done/ already has it");
  options_.logger.info("job filed", {{"job_id", job_id}, {"status", status.value("status", "")}});
}

}  // namespace pilot::jobs
