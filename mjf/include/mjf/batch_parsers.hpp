#pragma once
// Parsers for what batch systems print, taking the text (so tests feed real outputs). A value
// that does not parse is nullopt, never a guess.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::mjf {

// A wall-time answer: seconds, or no limit at all.
struct TimeLimit {
  std::optional<std::int64_t> seconds;  // nullopt when unlimited
  bool unlimited = false;
};

// `squeue -h -o %L`: "1:48", "12:00:01", "2-03:04:05", "UNLIMITED". "INVALID", "NOT_SET" or
// garbage: nullopt.
std::optional<TimeLimit> parse_squeue_time_left(std::string_view text);

// `scontrol show job -o`: EndTime= (local time, converted with the node's time zone), or
// unlimited when TimeLimit=UNLIMITED. EndTime=Unknown with a finite limit: nullopt.
struct EndTime {
  std::optional<std::int64_t> epoch;
  bool unlimited = false;
};
std::optional<EndTime> parse_scontrol_end_time(std::string_view text);

// "Key=value Key2=value2 ..." (scontrol -o); keys as written.
std::map<std::string, std::string, std::less<>> parse_key_values(std::string_view text);

// ClassAd files (`_CONDOR_JOB_AD`, `_CONDOR_MACHINE_AD`): `Name = value` lines. Keys are
// lower-cased (ClassAd names are case-insensitive); string values lose their quotes.
std::map<std::string, std::string, std::less<>> parse_classad(std::string_view text);

// Clock durations as PBS, SGE and LSF print them: "3600", "01:02:03", "1:02:03:04" (days first),
// "000:00:01.50" (fraction dropped).
std::optional<std::int64_t> parse_clock_duration(std::string_view text);

// Sizes as PBS and SGE print them: "2gb", "4000mb", "512kb", "100b", "8w" (words), "2G", "2048M",
// "1024K", "1000" (bytes); k/m/g/t multiples are 1024-based.
std::optional<std::int64_t> parse_size(std::string_view text);

// `qstat -f ID` (PBS/Torque): "attribute = value" lines, continuation lines joined.
std::map<std::string, std::string, std::less<>> parse_qstat_f(std::string_view text);

// `bjobs -W ID` (LSF): the header's column names mapped to the job row's values.
std::map<std::string, std::string, std::less<>> parse_bjobs_w(std::string_view text);

// LSF's "MM/DD-HH:MM:SS" (local time, no year: the year that puts it nearest to `now`).
std::optional<std::int64_t> parse_lsf_time(std::string_view text, std::int64_t now);

// `qstat -j ID` (SGE): "name: value" lines; resource lists ("h_rt=3600,h_vmem=2G") and usage
// ("wallclock=00:01:00, cpu=00:00:05, ...") are split into "<name>.<key>" entries, e.g.
// "hard resource_list.h_rt" and "usage.wallclock".
std::map<std::string, std::string, std::less<>> parse_qstat_j(std::string_view text);

}  // namespace pilot::mjf
