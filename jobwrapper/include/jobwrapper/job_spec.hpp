#pragma once
// What to run and how to watch it: the one input of the supervisor. Every limit and check is a
// plain field; 0 switches a check off. Defaults follow DIRAC's JobWrapper/Watchdog where it has
// one (README, "jobwrapper").

#include <signal.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::jobwrapper {

// The pilot's own credentials: never handed to a payload unless EnvPolicy::pass_credentials.
inline constexpr std::array<std::string_view, 5> kCredentialVariables{
    "X509_USER_PROXY", "BEARER_TOKEN", "BEARER_TOKEN_FILE", "X509_USER_CERT", "X509_USER_KEY"};

// The variable that tags every process of a job, so a /proc scan finds double-forked children.
inline constexpr std::string_view kMarkerVariable = "PILOT_JOB_MARKER";

struct EnvPolicy {
  bool inherit = true;                     // start from the pilot's environment
  std::map<std::string, std::string> set;  // added or replacing
  std::vector<std::string> unset;          // removed (applied before `set`)
  bool pass_credentials = false;           // keep kCredentialVariables when inheriting
};

enum class MemoryPolicy { warn, kill };
enum class Tracking { automatic, cgroup, proc };

struct WatchdogConfig {
  double poll_s = 5;                     // sampling period while the payload runs
  double wall_limit_s = 0;               // wall-clock limit
  double cpu_limit_s = 0;                // CPU time of the whole tree (user + system)
  std::uint64_t memory_limit_bytes = 0;  // PSS of the tree (and cgroup usage when known)
  MemoryPolicy memory_policy = MemoryPolicy::kill;
  double stalled_window_s = 1800;  // CPU/wall below the threshold over this window
  double stalled_threshold = 0.05;
  std::uint64_t min_free_disk_bytes = 10ull << 20;  // free space in the job directory
  double looping_s = 0;  // no file in the job directory modified for this long
};

struct JobSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH unless it holds a '/'
  std::filesystem::path workdir;  // created if missing; the payload's cwd
  std::string job_id;             // recorded only
  int processors = 1;             // processors the job holds (DIRAC scales wall time by them)
  EnvPolicy env;
  WatchdogConfig watchdog;

  int stop_signal = SIGINT;   // Gaudi's default stop signal
  double grace_s = 30;        // after the stop signal, before SIGTERM to everything
  double term_grace_s = 10;   // after SIGTERM, before SIGKILL (DIRAC: 10 s)
  double heartbeat_s = 1800;  // DIRAC's heartbeat period; 0: no heartbeat

  std::string stdout_name = "std.out";
  std::string stderr_name = "std.err";
  std::uint64_t log_cap_bytes = 512ull << 20;  // per stream: head and tail kept; 0: no cap
  bool compress_logs = true;                   // zstd when the job ends
  std::size_t peek_lines = 20;                 // lines of stdout kept for heartbeats

  Tracking tracking = Tracking::automatic;
  std::filesystem::path proc_root = "/proc";
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
};

}  // namespace pilot::jobwrapper
