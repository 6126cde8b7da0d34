#include "jobwrapper/job_record.hpp"

#include <cstdio>
#include <ctime>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/signals.hpp"
#include "jobwrapper/job_spec.hpp"
#include "jobwrapper/procfs.hpp"
#include "json_reader.hpp"

namespace pilot::jobwrapper {
namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

}  // namespace

ojson to_json(const StreamRecord& s) {
  ojson j;
  j["path"] = s.path;
  j["bytes"] = s.bytes;
  j["dropped_bytes"] = s.dropped_bytes;
  return j;
}

StreamRecord stream_record_from_json(const json& j, const std::string& where) {
  if (!j.is_object()) return {};
  Reader r{j, where};
  return {r.get<std::string>("path"), r.get<std::uint64_t>("bytes"),
          r.get<std::uint64_t>("dropped_bytes")};
}

std::string utc_now() {
  return log::utc_timestamp();
}

std::optional<double> utc_epoch(std::string_view text) {
  std::tm tm{};
  int millis = 0, consumed = 0;
  std::string t(text);
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &consumed) != 7 ||
      static_cast<std::size_t>(consumed) != t.size())
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<double>(timegm(&tm)) + millis / 1000.0;
}

namespace {

constexpr std::pair<JobState, std::string_view> kStateWords[] = {
    {JobState::prepared, "prepared"},
    {JobState::running, "running"},
    {JobState::stopping, "stopping"},
    {JobState::finished, "finished"},
};
constexpr std::pair<Outcome, std::string_view> kOutcomeWords[] = {
    {Outcome::none, ""},           {Outcome::success, "success"},
    {Outcome::failed, "failed"},   {Outcome::killed, "killed"},
    {Outcome::stopped, "stopped"}, {Outcome::launch_failed, "launch_failed"},
    {Outcome::lost, "lost"},       {Outcome::not_started, "not_started"},
};

}  // namespace

std::string_view to_string(JobState state) {
  return word_of(state, kStateWords);
}
std::string_view to_string(Outcome outcome) {
  return word_of(outcome, kOutcomeWords);
}
JobState job_state_from_string(std::string_view word) {
  return value_of(word, kStateWords, "job record: unknown state");
}
Outcome outcome_from_string(std::string_view word) {
  return value_of(word, kOutcomeWords, "job record: unknown outcome");
}

ojson to_json(const JobRecord& r) {
  ojson j;
  j["schema"] = 1;
  j["job_id"] = str_or_null(r.job_id);
  j["state"] = std::string(to_string(r.state));
  j["outcome"] = str_or_null(std::string(to_string(r.outcome)));
  j["exit_code"] = opt(r.exit_code);
  j["signal"] = r.signal ? ojson(signal_name(*r.signal)) : ojson(nullptr);
  j["reason"] = r.reason ? ojson(std::string(reason_code(*r.reason))) : ojson(nullptr);
  j["reason_text"] = r.reason ? ojson(std::string(reason_text(*r.reason))) : ojson(nullptr);
  j["reason_detail"] = str_or_null(r.reason_detail);
  j["error"] = str_or_null(r.error);
  j["wall_seconds"] = r.wall_seconds;
  j["cpu_seconds"] = r.cpu_seconds;
  j["cpu_user_seconds"] = r.cpu_user_seconds;
  j["cpu_system_seconds"] = r.cpu_system_seconds;
  j["max_pss_bytes"] = r.max_pss_bytes;
  j["max_rss_bytes"] = r.max_rss_bytes;
  j["max_vsize_bytes"] = r.max_vsize_bytes;
  j["cgroup_max_memory_bytes"] = opt(r.cgroup_max_memory_bytes);
  j["oom_kills"] = opt(r.oom_kills);
  j["workdir"] = r.workdir;
  j["argv"] = r.argv;
  j["pid"] = r.pid ? ojson(r.pid) : ojson(nullptr);
  j["pilot_pid"] = r.pilot_pid;
  j["keeper_pid"] = r.keeper_pid ? ojson(r.keeper_pid) : ojson(nullptr);
  j["marker"] = r.marker;
  j["tracking"] = str_or_null(r.tracking);
  j["prepared_at"] = str_or_null(r.prepared_at);
  j["started_at"] = str_or_null(r.started_at);
  j["stop_requested_at"] = str_or_null(r.stop_requested_at);
  j["finished_at"] = str_or_null(r.finished_at);
  j["checks"] = ojson::array();
  for (const auto& c : r.checks)
    j["checks"].push_back({{"at", c.at},
                           {"reason", std::string(reason_code(c.reason))},
                           {"detail", c.detail},
                           {"action", c.kill ? "kill" : "warn"}});
  j["signals_sent"] = ojson::array();
  for (const auto& s : r.signals_sent)
    j["signals_sent"].push_back(
        {{"at", s.at}, {"signal", s.signal}, {"target", s.target}, {"processes", s.processes}});
  j["stdout"] = to_json(r.stdout_log);
  j["stderr"] = to_json(r.stderr_log);
  j["extra"] = r.extra;
  return j;
}

JobRecord job_record_from_json(const json& j) {
  if (!j.is_object()) throw Error("job record: not a JSON object");
  Reader rd{j, "job record"};
  JobRecord r;
  r.job_id = rd.get<std::string>("job_id");
  auto state = rd.get<std::string>("state");
  if (state.empty()) throw Error("job record: field 'state' is missing");
  r.state = job_state_from_string(state);
  r.outcome = outcome_from_string(rd.get<std::string>("outcome"));
  r.exit_code = rd.get_opt<int>("exit_code");
  if (auto sig = rd.get_opt<std::string>("signal")) {
    try {
      r.signal = parse_signal(*sig);
    } catch (const Error&) {
      throw Error("job record: field 'signal' holds an unknown signal '" + *sig + "'");
    }
  }
  if (auto code = rd.get_opt<std::string>("reason")) {
    r.reason = parse_reason(*code);
    if (!r.reason)
      throw Error("job record: field 'reason' holds an unknown reason '" + *code + "'");
  }
  r.reason_detail = rd.get<std::string>("reason_detail");
  r.error = rd.get<std::string>("error");
  r.wall_seconds = rd.get<double>("wall_seconds");
  r.cpu_seconds = rd.get<double>("cpu_seconds");
  r.cpu_user_seconds = rd.get<double>("cpu_user_seconds");
  r.cpu_system_seconds = rd.get<double>("cpu_system_seconds");
  r.max_pss_bytes = rd.get<std::uint64_t>("max_pss_bytes");
  r.max_rss_bytes = rd.get<std::uint64_t>("max_rss_bytes");
  r.max_vsize_bytes = rd.get<std::uint64_t>("max_vsize_bytes");
  r.cgroup_max_memory_bytes = rd.get_opt<std::uint64_t>("cgroup_max_memory_bytes");
  r.oom_kills = rd.get_opt<std::uint64_t>("oom_kills");
  r.workdir = rd.get<std::string>("workdir");
  r.argv = rd.get<std::vector<std::string>>("argv");
  r.pid = rd.get<pid_t>("pid");
  r.pilot_pid = rd.get<pid_t>("pilot_pid");
  r.keeper_pid = rd.get<pid_t>("keeper_pid");
  r.marker = rd.get<std::string>("marker");
  r.tracking = rd.get<std::string>("tracking");
  r.prepared_at = rd.get<std::string>("prepared_at");
  r.started_at = rd.get<std::string>("started_at");
  r.stop_requested_at = rd.get<std::string>("stop_requested_at");
  r.finished_at = rd.get<std::string>("finished_at");
  rd.each("checks", [&](const Reader& cr) {
    auto code = cr.get<std::string>("reason");
    auto reason = parse_reason(code);
    if (!reason) throw Error(cr.where + " holds an unknown reason '" + code + "'");
    r.checks.push_back({cr.get<std::string>("at"), *reason, cr.get<std::string>("detail"),
                        cr.get<std::string>("action") != "warn"});
  });
  rd.each("signals_sent", [&](const Reader& sr) {
    r.signals_sent.push_back({sr.get<std::string>("at"), sr.get<std::string>("signal"),
                              sr.get<std::string>("target"), sr.get<std::size_t>("processes")});
  });
  if (const json* s = rd.find("stdout"))
    r.stdout_log = stream_record_from_json(*s, "job record: stdout");
  if (const json* s = rd.find("stderr"))
    r.stderr_log = stream_record_from_json(*s, "job record: stderr");
  if (const json* e = rd.find("extra")) {
    if (!e->is_object()) throw Error("job record: field 'extra' is not an object");
    r.extra = ojson::parse(e->dump());
  }
  return r;
}

void save_job_record(const std::filesystem::path& workdir, const JobRecord& r) {
  write_file_atomic(workdir / kJobRecordName, to_json(r).dump(2) + "\n");
}

std::optional<JobRecord> load_job_record(const std::filesystem::path& workdir) {
  auto path = workdir / kJobRecordName;
  auto text = read_file(path, 16 << 20);
  if (!text) return std::nullopt;
  json j;
  try {
    j = json::parse(*text);
  } catch (const json::exception& e) {
    throw Error(path.string() + " is not valid JSON: " + e.what());
  }
  try {
    return job_record_from_json(j);
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

bool find_unrecorded_payload(JobRecord& r, const std::filesystem::path& proc_root) {
  if (r.pid > 0 || r.marker.empty() || r.state == JobState::finished) return false;
  auto pid =
      find_group_leader_with_environ(proc_root, std::string(kMarkerVariable) + "=" + r.marker);
  if (!pid) return false;
  r.pid = *pid;
  return true;
}

int shell_status(const JobRecord& r) {
  if (r.outcome == Outcome::launch_failed) return 127;
  if (r.exit_code) return *r.exit_code;
  if (r.signal) return 128 + *r.signal;
  return 1;
}

}  // namespace pilot::jobwrapper
