#pragma once
// The attributes of a JDL the pilot acts on, read once with their types checked, so the rest of
// the pilot never touches JDL text. Names follow DIRAC's JDL; defaults are DIRAC's where it has
// one.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "jobs/jdl.hpp"

namespace pilot::jobs {

// DIRAC's JobWrapper default when a job gives no CPUTime (HS06 s).
inline constexpr std::int64_t kDefaultJobCpuTime = 86400;

struct JobDescription {
  std::string job_id;                   // JobID, decimal; empty when absent (local queue: its id)
  std::string job_name;                 // JobName
  std::string executable;               // Executable (required)
  std::string arguments;                // Arguments, one shell-style string as DIRAC passes it
  std::vector<std::string> input_data;  // InputData (LFNs, "LFN:" prefix kept)
  std::vector<std::string> input_sandbox;   // InputSandbox
  std::vector<std::string> output_sandbox;  // OutputSandbox
  std::string std_output = "std.out";       // StdOutput
  std::string std_error = "std.err";        // StdError
  std::optional<std::int64_t> cpu_time;     // CPUTime, HS06 s (see kDefaultJobCpuTime)
  int min_processors = 1;  // MinNumberOfProcessors, else NumberOfProcessors, else 1
  int max_processors = 1;  // MaxNumberOfProcessors, else NumberOfProcessors, else min_processors
  std::optional<std::int64_t> max_ram_mb;  // MaxRAM (MB), else MinRAM
  std::vector<std::string> platforms;      // Platform (one or a list); empty or "ANY": any
  std::vector<std::string> tags;           // Tags (also read from Tag)
  std::vector<std::string> sites;          // Site (one or a list); empty or "ANY": any
  std::vector<std::string> banned_sites;   // BannedSites / BannedSite
  std::string job_type;                    // JobType
  std::string job_group;                   // JobGroup
  std::string owner;                       // Owner
  std::string owner_group;                 // OwnerGroup
  std::int64_t priority = 1;               // Priority
  std::optional<double> cpu_e;             // CPUe: HS06 s per event (interruptible MC)
  std::optional<std::int64_t> max_number_of_events;  // MaxNumberOfEvents
  std::string xml_summary_file;                      // XMLSummaryFile
  std::optional<int> stop_signal;  // StopSignal (pilot extension): "USR1", "SIGINT", 2, ...
  // ExecutionEnvironment: "NAME=value" items, the value URL-decoded as DIRAC's JobWrapper does.
  std::vector<std::pair<std::string, std::string>> environment;

  std::int64_t cpu_time_or_default() const { return cpu_time.value_or(kDefaultJobCpuTime); }
  bool whole_node() const;  // tagged "WholeNode"
};

// DIRAC's workflow engine: `dirac-jobexec`, or `$DIRACROOT/scripts/dirac-jobexec` (which DIRAC
// rewrites to it).
bool is_dirac_jobexec(std::string_view executable);

// The job needs a DIRAC installation (dirac/runtime.hpp): the workflow engine, any executable
// naming $DIRACROOT, any `dirac-*` command.
bool needs_dirac_runtime(std::string_view executable);

// The file a plain InputSandbox entry (neither SB: nor LFN:) stands for in the job directory:
// its last component, as DIRAC's JobWrapper takes os.path.basename(entry). DIRAC's WMSClient
// lists the submitter's local names, absolute or relative, and ships the files in an SB: sandbox
// under that name, so "/bin/echo" is the file "echo" of the unpacked sandbox.
std::string input_file_name(std::string_view entry);

// Reads and checks the attributes; throws pilot::Error naming the attribute (and `source`) when
// one has the wrong type or an impossible value (no Executable, processors < 1, Min > Max, ...).
JobDescription read_job_description(const Jdl& jdl, std::string_view source = "JDL");

// parse_jdl + read_job_description.
JobDescription parse_job_description(std::string_view text, std::string_view source = "JDL");

}  // namespace pilot::jobs
