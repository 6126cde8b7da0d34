#include "queue_store.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <sstream>
#include <vector>

#include "core/error.hpp"
#include "core/failpoint.hpp"
#include "core/fs.hpp"
#include "core/json_number.hpp"

namespace pilot::jobs::queue {

namespace {

// Field 22 of /proc/<pid>/stat (start time in clock ticks after boot); nullopt when the process
// does not exist, 0 when the file cannot be understood. Field 2 (comm) may hold spaces and
// parentheses, so fields are counted after the last ')'.
std::optional<std::int64_t> process_start_ticks(const fs::path& proc_root, std::int64_t pid) {
  auto stat = read_file(proc_root / std::to_string(pid) / "stat", 1 << 16);
  if (!stat) return std::nullopt;
  auto close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream in(stat->substr(close + 1));
  std::string field;
  for (int n = 3; n <= 22 && (in >> field); ++n) {
    if (n != 22) continue;
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(field.data(), field.data() + field.size(), v);
    return ec == std::errc() ? v : 0;
  }
  return 0;
}

}  // namespace

void ensure_layout(const fs::path& root, bool create_root) {
  std::error_code ec;
  if (create_root) fs::create_directories(root, ec);
  if (ec) throw Error("cannot create the queue directory " + root.string() + ": " + ec.message());
  if (!fs::is_directory(root, ec))
    throw Error("queue directory " + root.string() + " does not exist");
  for (const char* sub : {"pending", "running", "done", "tmp"}) {
    fs::create_directory(root / sub, ec);
    if (ec) throw Error("cannot create " + (root / sub).string() + ": " + ec.message());
  }
  if (::access(root.c_str(), W_OK) != 0)
    throw_errno("queue directory " + root.string() + " is not writable", errno);
}

std::string utc_text(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  long frac = static_cast<long>(us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::string new_job_id(std::chrono::system_clock::time_point now) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  unsigned char rnd[2];
  if (::getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd))
    throw_errno("cannot read random bytes for a job id", errno);
  char buf[128];  // room for any int the compiler can imagine
  std::snprintf(buf, sizeof buf, "%04d%02d%02d-%02d%02d%02d-%06ld-%02x%02x", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long>(us % 1000000), rnd[0], rnd[1]);
  return buf;
}

bool is_job_id(std::string_view id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  return true;
}

void check_job_id(std::string_view id) {
  if (!is_job_id(id)) throw Error("'" + std::string(id) + "' is not a queue job id");
}

std::optional<std::string> find_state(const fs::path& root, const std::string& id) {
  check_job_id(id);
  for (const char* state : kStates) {
    std::error_code ec;
    if (fs::is_directory(root / state / id, ec)) return std::string(state);
  }
  return std::nullopt;
}

nlohmann::json read_status(const fs::path& job_dir) {
  auto path = job_dir / "status.json";
  auto text = read_file(path, 16 << 20);
  if (!text) throw Error("missing " + path.string());
  try {
    auto j = nlohmann::json::parse(*text);
    if (!j.is_object()) throw Error("not a JSON object");
    return j;
  } catch (const std::exception& e) {
    throw Error("malformed " + path.string() + ": " + e.what());
  }
}

void write_status(const fs::path& job_dir, const nlohmann::json& status) {
  write_file_atomic(job_dir / "status.json", status.dump(2) + "\n");
}

nlohmann::json new_status(const std::string& id, const std::string& job_name,
                          const std::string& executable,
                          std::chrono::system_clock::time_point now) {
  nlohmann::json s = {
      {"id", id},
      {"submitted", utc_text(now)},
      {"job_name", job_name},
      {"executable", executable},
      {"status", ""},
      {"minor_status", ""},
      {"application_status", "Unknown"},
      {"history", nlohmann::json::array()},
      {"parameters", nlohmann::json::object()},
      {"owner", nullptr},
      {"processors", nullptr},
      {"heartbeat", {{"count", 0}, {"last", nullptr}, {"data", nlohmann::json::object()}}},
      {"events", nullptr},
      {"reschedules", 0},
      {"finished", nullptr},
      {"logs", nlohmann::json::array()},
      {"outputs", nlohmann::json::array()},
      {"problems", nlohmann::json::array()},
  };
  return s;
}

bool filed(const nlohmann::json& status) {
  auto it = status.find("finished");
  return it != status.end() && !it->is_null();
}

void apply_status(nlohmann::json& status, const StatusUpdate& update) {
  if (!update.status.empty()) status["status"] = update.status;
  if (!update.minor_status.empty()) status["minor_status"] = update.minor_status;
  if (!update.application_status.empty()) status["application_status"] = update.application_status;
  status["history"].push_back({{"time", utc_text(update.time)},
                               {"status", status.value("status", "")},
                               {"minor_status", status.value("minor_status", "")},
                               {"application_status", status.value("application_status", "")},
                               {"source", update.source}});
}

int status_count(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  auto n = it == object.end() ? std::nullopt : json_number<int>(*it);
  return n && *n > 0 ? *n : 0;
}

bool reschedule(nlohmann::json& status, const std::string& why, const std::string& problem,
                int max_reschedules, std::chrono::system_clock::time_point now,
                const std::string& source) {
  status["owner"] = nullptr;
  status["processors"] = nullptr;
  int done = status_count(status, "reschedules");
  if (done >= max_reschedules) {
    apply_status(status, {"Failed", "Maximum of reschedulings reached", "", now, source});
    status["problems"].push_back(problem);
    status["finished"] = utc_text(now);
    return false;
  }
  status["reschedules"] = done + 1;
  apply_status(status, {"Waiting", "Rescheduled: " + why, "", now, source});
  return true;
}

std::string host_name() {
  char host[256] = {};
  return ::gethostname(host, sizeof host - 1) == 0 ? host : "";
}

Owner self_owner(const fs::path& proc_root) {
  Owner o;
  o.host = host_name();
  o.pid = ::getpid();
  o.start_ticks = process_start_ticks(proc_root, o.pid).value_or(0);
  if (auto boot = read_file(proc_root / "sys/kernel/random/boot_id", 4096)) {
    o.boot_id = *boot;
    while (!o.boot_id.empty() && (o.boot_id.back() == '\n' || o.boot_id.back() == ' '))
      o.boot_id.pop_back();
  }
  return o;
}

nlohmann::json owner_json(const Owner& o, std::chrono::system_clock::time_point claimed) {
  return {{"host", o.host},       {"pid", o.pid},         {"start_ticks", o.start_ticks},
          {"boot_id", o.boot_id}, {"workdir", o.workdir}, {"claimed", utc_text(claimed)}};
}

std::optional<Owner> owner_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  Owner o;
  try {
    o.host = j.value("host", "");
    o.pid = j.value("pid", std::int64_t{0});
    o.start_ticks = j.value("start_ticks", std::int64_t{0});
    o.boot_id = j.value("boot_id", "");
    o.workdir = j.value("workdir", "");
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  return o;
}

Liveness owner_liveness(const Owner& owner, const fs::path& proc_root, std::string* why) {
  Owner me = self_owner(proc_root);
  auto say = [&](std::string text, Liveness l) {
    if (why) *why = std::move(text);
    return l;
  };
  if (owner.host != me.host)
    return say("pilot on another host (" + owner.host + ")", Liveness::unknown);
  if (!owner.boot_id.empty() && !me.boot_id.empty() && owner.boot_id != me.boot_id)
    return say("this host rebooted since the job was claimed", Liveness::dead);
  if (owner.pid <= 0) return say("no owner pid recorded", Liveness::dead);
  auto ticks = process_start_ticks(proc_root, owner.pid);
  if (!ticks) return say("pilot process " + std::to_string(owner.pid) + " is gone", Liveness::dead);
  if (owner.start_ticks != 0 && *ticks != owner.start_ticks)
    return say("pid " + std::to_string(owner.pid) + " now belongs to another process",
               Liveness::dead);
  return say("pilot process " + std::to_string(owner.pid) + " is running", Liveness::alive);
}

bool rename_if_present(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) == 0) {
    failpoint("journal");
    return true;
  }
  if (errno == ENOENT || errno == ENOTEMPTY || errno == EEXIST) return false;
  throw_errno("cannot rename " + from.string() + " to " + to.string(), errno);
}

}  // namespace pilot::jobs::queue
