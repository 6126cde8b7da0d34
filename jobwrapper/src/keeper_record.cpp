// What the keeper and its readers share: keeper.json, the argument format, the control lines and
// the peek file (keeper.hpp).
#include <unistd.h>

#include <algorithm>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/number.hpp"
#include "jobwrapper/keeper.hpp"
#include "json_reader.hpp"

namespace pilot::jobwrapper {

namespace {

using json = nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr std::pair<KeeperState, std::string_view> kKeeperStateWords[] = {
    {KeeperState::started, "started"},
    {KeeperState::payload_ended, "payload_ended"},
    {KeeperState::closed, "closed"},
};

// The option words of the command line, in the order keeper_arguments writes them.
constexpr std::string_view kWorkdir = "--workdir", kMarker = "--marker", kTracking = "--tracking",
                           kStdout = "--stdout", kStderr = "--stderr", kCap = "--log-cap-bytes",
                           kPeek = "--peek-lines", kCompress = "--compress-logs";

}  // namespace

std::string_view to_string(KeeperState state) {
  return word_of(state, kKeeperStateWords);
}

KeeperState keeper_state_from_string(std::string_view word) {
  return value_of(word, kKeeperStateWords, "keeper record: unknown state");
}

std::vector<std::string> keeper_arguments(const KeeperRequest& r) {
  std::vector<std::string> a{std::string(kKeeperCommand),
                             std::string(kWorkdir),
                             r.workdir.string(),
                             std::string(kMarker),
                             r.marker,
                             std::string(kTracking),
                             r.tracking,
                             std::string(kStdout),
                             r.stdout_name,
                             std::string(kStderr),
                             r.stderr_name,
                             std::string(kCap),
                             std::to_string(r.log_cap_bytes),
                             std::string(kPeek),
                             std::to_string(r.peek_lines),
                             std::string(kCompress),
                             r.compress_logs ? "1" : "0",
                             "--",
                             r.exe.string()};
  a.insert(a.end(), r.args.begin(), r.args.end());
  return a;
}

KeeperRequest parse_keeper_arguments(const std::vector<std::string>& args) {
  KeeperRequest r;
  std::size_t i = 0;
  auto value = [&](std::string_view option) -> const std::string& {
    if (i + 1 >= args.size()) throw Error("keeper: " + std::string(option) + " needs a value");
    return args[++i];
  };
  auto number = [&](std::string_view option) {
    const auto& text = value(option);
    auto v = whole_number<long>(text);
    if (!v || *v < 0)
      throw Error("keeper: " + std::string(option) + " '" + text + "' is not a number");
    return static_cast<std::uint64_t>(*v);
  };
  for (; i < args.size(); ++i) {
    const auto& a = args[i];
    if (a == "--") break;
    if (a == kWorkdir) {
      r.workdir = value(a);
    } else if (a == kMarker) {
      r.marker = value(a);
    } else if (a == kTracking) {
      r.tracking = value(a);
    } else if (a == kStdout) {
      r.stdout_name = value(a);
    } else if (a == kStderr) {
      r.stderr_name = value(a);
    } else if (a == kCap) {
      r.log_cap_bytes = number(a);
    } else if (a == kPeek) {
      r.peek_lines = static_cast<std::size_t>(number(a));
    } else if (a == kCompress) {
      r.compress_logs = number(a) != 0;
    } else {
      throw Error("keeper: unknown argument '" + a + "'");
    }
  }
  if (i + 1 >= args.size()) throw Error("keeper: no payload after '--'");
  if (r.workdir.empty() || r.marker.empty())
    throw Error("keeper: --workdir and --marker are needed");
  r.exe = args[i + 1];
  r.args.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 2, args.end());
  return r;
}

ojson to_json(const KeeperRecord& r) {
  ojson j;
  j["state"] = std::string(to_string(r.state));
  j["keeper_pid"] = r.keeper_pid;
  j["payload_pid"] = r.payload_pid ? ojson(r.payload_pid) : ojson(nullptr);
  j["marker"] = r.marker;
  j["started_at"] = str_or_null(r.started_at);
  j["ended_at"] = str_or_null(r.ended_at);
  j["closed_at"] = str_or_null(r.closed_at);
  j["exit_code"] = opt(r.exit_code);
  j["signal"] = opt(r.signal);
  j["cpu_user_seconds"] = r.cpu_user_seconds;
  j["cpu_system_seconds"] = r.cpu_system_seconds;
  j["max_rss_bytes"] = r.max_rss_bytes;
  j["stdout"] = to_json(r.stdout_log);
  j["stderr"] = to_json(r.stderr_log);
  j["error"] = str_or_null(r.error);
  return j;
}

KeeperRecord keeper_record_from_json(const json& j) {
  if (!j.is_object()) throw Error("keeper record: not a JSON object");
  Reader rd{j, "keeper record"};
  KeeperRecord r;
  r.state = keeper_state_from_string(rd.get<std::string>("state"));
  r.keeper_pid = rd.get<pid_t>("keeper_pid");
  r.payload_pid = rd.get<pid_t>("payload_pid");
  r.marker = rd.get<std::string>("marker");
  r.started_at = rd.get<std::string>("started_at");
  r.ended_at = rd.get<std::string>("ended_at");
  r.closed_at = rd.get<std::string>("closed_at");
  r.exit_code = rd.get_opt<int>("exit_code");
  r.signal = rd.get_opt<int>("signal");
  r.cpu_user_seconds = rd.get<double>("cpu_user_seconds");
  r.cpu_system_seconds = rd.get<double>("cpu_system_seconds");
  r.max_rss_bytes = rd.get<std::uint64_t>("max_rss_bytes");
  if (const json* s = rd.find("stdout"))
    r.stdout_log = stream_record_from_json(*s, "keeper record: stdout");
  if (const json* s = rd.find("stderr"))
    r.stderr_log = stream_record_from_json(*s, "keeper record: stderr");
  r.error = rd.get<std::string>("error");
  return r;
}

void save_keeper_record(const std::filesystem::path& workdir, const KeeperRecord& r) {
  write_file_atomic(workdir / kKeeperRecordName, to_json(r).dump(2) + "\n");
}

std::optional<KeeperRecord> load_keeper_record(const std::filesystem::path& workdir) {
  auto path = workdir / kKeeperRecordName;
  auto text = read_file(path);
  if (!text) return std::nullopt;
  try {
    return keeper_record_from_json(json::parse(*text));
  } catch (const json::exception& e) {
    throw Error(path.string() + ": " + e.what());
  } catch (const Error& e) {
    throw Error(path.string() + ": " + e.what());
  }
}

bool keeper_alive(const KeeperRecord& r, const std::filesystem::path& proc_root) {
  if (r.keeper_pid <= 1 || r.marker.empty()) return false;
  std::optional<std::string> cmdline;
  try {
    cmdline = read_file(proc_root / std::to_string(r.keeper_pid) / "cmdline", 1 << 20);
  } catch (const Error&) {
    return false;  // gone between the lookup and the read, or not ours to read
  }
  if (!cmdline) return false;
  // NUL-separated: "<binary>\0keep\0...\0--marker\0<marker>\0..."
  std::string want = std::string(1, '\0') + std::string(kKeeperCommand) + '\0';
  std::string marker = std::string(1, '\0') + std::string(kMarker) + '\0' + r.marker + '\0';
  return cmdline->find(want) != std::string::npos && cmdline->find(marker) != std::string::npos;
}

std::optional<KeeperMessage> parse_keeper_message(std::string_view line) {
  auto word = line.substr(0, line.find(' '));
  auto rest = word.size() < line.size() ? line.substr(word.size() + 1) : std::string_view();
  if (word == "started") {
    auto pid = whole_number<long>(rest);
    if (!pid || *pid <= 1) return std::nullopt;
    return KeeperMessage{KeeperMessage::Kind::started, static_cast<pid_t>(*pid), ""};
  }
  if (word == "failed") return KeeperMessage{KeeperMessage::Kind::failed, 0, std::string(rest)};
  if (word == "ended" && rest.empty()) return KeeperMessage{KeeperMessage::Kind::ended, 0, ""};
  if (word == "closed" && rest.empty()) return KeeperMessage{KeeperMessage::Kind::closed, 0, ""};
  return std::nullopt;
}

std::filesystem::path keeper_executable() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  // A binary replaced on disk while the pilot runs (an upgrade) still runs through /proc.
  return ec || self.string().ends_with(" (deleted)") ? std::filesystem::path("/proc/self/exe")
                                                     : self;
}

std::filesystem::path keeper_peek_path(const std::filesystem::path& workdir,
                                       std::string_view stdout_name) {
  return workdir / ("." + std::string(stdout_name) + ".peek");
}

std::string read_keeper_peek(const std::filesystem::path& workdir, std::string_view stdout_name) {
  try {
    return read_file(keeper_peek_path(workdir, stdout_name), 1 << 20).value_or("");
  } catch (const Error&) {
    return "";  // replaced while read: the next heartbeat has it
  }
}

void apply_keeper_record(const KeeperRecord& k, JobRecord& rec) {
  if (k.state == KeeperState::started) return;
  rec.exit_code = k.exit_code;
  rec.signal = k.signal;
  if (k.cpu_user_seconds + k.cpu_system_seconds > rec.cpu_seconds) {
    rec.cpu_user_seconds = k.cpu_user_seconds;
    rec.cpu_system_seconds = k.cpu_system_seconds;
    rec.cpu_seconds = k.cpu_user_seconds + k.cpu_system_seconds;
  }
  rec.max_rss_bytes = std::max(rec.max_rss_bytes, k.max_rss_bytes);
  if (k.state == KeeperState::closed) {
    rec.stdout_log = k.stdout_log;
    rec.stderr_log = k.stderr_log;
  }
  if (!k.error.empty() && rec.error.empty()) rec.error = k.error;
}

}  // namespace pilot::jobwrapper
