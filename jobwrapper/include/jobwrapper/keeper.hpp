#pragma once
// The keeper: a small process between the supervisor and the payload that outlives the pilot.
// It is the pilot's static binary re-executed as `pilot keep ...` (argument format below, built
// and parsed only here), the payload's parent and the owner of what dies with a parent:
//   - the payload's stdout and stderr, read from pipes into the job directory's files (capped,
//     compressed when the payload's streams close, as CappedOutput does), so a payload whose
//     pilot died keeps writing instead of dying of SIGPIPE;
//   - the payload's exit: exit code or signal, resource usage and end time, saved durably in
//     keeper.json before anyone is told;
//   - stop requests: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to the keeper
//     while the payload runs are relayed to the payload's process group. Once the payload has
//     ended, SIGTERM means "stop waiting for the streams": something that escaped the job's
//     tracking may hold the pipes open.
// The keeper is not part of the job's tree: its environment has no job marker, it is in none of
// the job's cgroups and is in a session of its own, so stopping the job never stops it. It ends
// when the payload has ended and both streams are closed, after its last record.
//
// Its stdout is the control pipe to the supervisor that started it, one line per step:
// "started <pid>", "failed <why>" (the payload could not be started; the keeper exits 127),
// "ended" (keeper.json holds the exit), "closed" (keeper.json is final). A pilot that is gone
// gets no lines and changes nothing: the keeper carries on and the record is the same.

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobwrapper/job_record.hpp"

namespace pilot::jobwrapper {

inline constexpr const char* kKeeperRecordName = "keeper.json";
inline constexpr const char* kKeeperLogName = "keeper.log";
inline constexpr std::string_view kKeeperCommand = "keep";

// What the supervisor asks the keeper to run. The keeper's own environment is the payload's
// without the marker, which the keeper adds for the payload.
struct KeeperRequest {
  std::filesystem::path workdir;
  std::string marker;
  std::string tracking = "proc";  // JobRecord::tracking: the cgroup the payload joins before exec
  std::string stdout_name = "std.out";
  std::string stderr_name = "std.err";
  std::uint64_t log_cap_bytes = 0;
  std::size_t peek_lines = 20;
  bool compress_logs = true;
  std::filesystem::path exe;      // resolved: no PATH lookup
  std::vector<std::string> args;  // after argv[0]
};

// The arguments after the binary: "keep", options, "--", exe, args.
std::vector<std::string> keeper_arguments(const KeeperRequest& request);
// The inverse, from what follows "keep". Throws pilot::Error naming the bad argument.
KeeperRequest parse_keeper_arguments(const std::vector<std::string>& args);

// The keeper process (`pilot keep ...`, argv[1] == "keep"). Returns its exit status: 0 once the
// record is final, 127 when the payload could not be started, 2 for bad arguments.
int keeper_main(int argc, char** argv);

// started -> payload_ended -> closed.
enum class KeeperState { started, payload_ended, closed };
std::string_view to_string(KeeperState state);
KeeperState keeper_state_from_string(std::string_view word);  // throws pilot::Error naming it

// keeper.json.
struct KeeperRecord {
  KeeperState state = KeeperState::started;
  pid_t keeper_pid = 0;
  pid_t payload_pid = 0;
  std::string marker;
  std::string started_at, ended_at, closed_at;
  std::optional<int> exit_code;
  std::optional<int> signal;
  double cpu_user_seconds = 0;  // the payload's and its waited-for children's (wait4)
  double cpu_system_seconds = 0;
  std::uint64_t max_rss_bytes = 0;
  StreamRecord stdout_log, stderr_log;  // final once closed
  std::string error;                    // output that could not be stored
};

nlohmann::ordered_json to_json(const KeeperRecord& r);
KeeperRecord keeper_record_from_json(const nlohmann::json& j);  // throws naming the field
void save_keeper_record(const std::filesystem::path& workdir, const KeeperRecord& r);
// nullopt when the directory has none; pilot::Error naming the file when it is garbage.
std::optional<KeeperRecord> load_keeper_record(const std::filesystem::path& workdir);

// Whether the keeper of this record still runs: its pid is a keeper for this marker (a reused
// pid is not).
bool keeper_alive(const KeeperRecord& r, const std::filesystem::path& proc_root);

// One control line ("started 123"), nullopt for a line that is none of the steps.
struct KeeperMessage {
  enum class Kind { started, failed, ended, closed } kind;
  pid_t pid = 0;    // started
  std::string why;  // failed
};
std::optional<KeeperMessage> parse_keeper_message(std::string_view line);

// The payload's last stdout lines, rewritten by the keeper (not durably: they are for heartbeats)
// at most every second while they change; empty when there are none yet.
std::filesystem::path keeper_peek_path(const std::filesystem::path& workdir,
                                       std::string_view stdout_name);
std::string read_keeper_peek(const std::filesystem::path& workdir, std::string_view stdout_name);

// What the supervisor re-executes as the keeper: this process's own binary.
std::filesystem::path keeper_executable();

// Copies what the keeper recorded about the payload's end into a job record: exit code or
// signal, CPU (only when higher than sampled), peak RSS, the streams once closed, an output
// error.
void apply_keeper_record(const KeeperRecord& k, JobRecord& rec);

}  // namespace pilot::jobwrapper
