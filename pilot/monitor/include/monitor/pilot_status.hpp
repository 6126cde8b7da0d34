#pragma once
// What a running pilot is doing, as the operators' tools see it (issue 19): the agent fills a
// PilotStatus every few seconds and at each change, and hands it to the sinks, each its own
// unit: the status file `pilot status` reads (status_file.hpp), the Prometheus text file
// (metrics.hpp) and the monitoring records over STOMP (stomp_publisher.hpp). Plain data and its
// JSON form; nothing here reads the system.
//
// Times are seconds since the epoch (UTC); durations are seconds. An unknown figure is absent
// (std::nullopt, JSON null), never -1.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::monitor {

// The pilot's own life, as one word.
enum class PilotState {
  starting,   // the start-up steps, the recovery of a lost pilot's jobs
  running,    // asking for work and running jobs
  stopping,   // asks for no more work; its jobs run to their end
  reclaimed,  // a signal or the slot's end: stopping its jobs gracefully
  ended,      // the agent has ended; the status file stays as its last word
};
const char* pilot_state_name(PilotState s);
std::optional<PilotState> pilot_state_from_name(std::string_view name);

enum class JobState {
  preparing,  // matched: sandbox, proxy, job directory
  running,    // its payload runs
  stopping,   // a stop was asked (kill, reclaim, watchdog); the payload is ending
};
const char* job_state_name(JobState s);
std::optional<JobState> job_state_from_name(std::string_view name);

// A job's end, counted in exactly one: the outcomes of the agent's summary (count_outcome).
enum class JobOutcome { succeeded, failed, rescheduled };
const char* job_outcome_name(JobOutcome o);

// What a Matcher request ended as.
enum class RequestResult { match, no_match, error };
const char* request_result_name(RequestResult r);

// Every value of each set, for the sinks that list them all (a state gauge at 0 included).
inline constexpr PilotState kPilotStates[] = {PilotState::starting, PilotState::running,
                                              PilotState::stopping, PilotState::reclaimed,
                                              PilotState::ended};
inline constexpr JobState kJobStates[] = {JobState::preparing, JobState::running,
                                          JobState::stopping};
inline constexpr JobOutcome kOutcomes[] = {JobOutcome::succeeded, JobOutcome::failed,
                                           JobOutcome::rescheduled};
inline constexpr RequestResult kResults[] = {RequestResult::match, RequestResult::no_match,
                                             RequestResult::error};

struct JobView {
  std::string id;
  JobState state = JobState::preparing;
  int processors = 1;
  std::optional<double> started_at;  // the payload's start
  double cpu_s = 0;
  double wall_s = 0;
  std::optional<std::int64_t> memory_bytes;  // the payload tree's resident memory now
  bool mc = false;
  std::optional<std::int64_t> events_done;     // MC: from its last checkpoint
  std::optional<std::int64_t> events_planned;  // MC: what it was sized for
  std::string minor_status;                    // the last minor status reported
};

// Request latencies, cumulative as Prometheus histograms are: counts[i] requests took at most
// kLatencyBounds[i] seconds; the last count is every request (+Inf).
struct LatencyHistogram {
  static constexpr double kBounds[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  static constexpr std::size_t kBuckets = std::size(kBounds) + 1;
  std::int64_t counts[kBuckets] = {};
  double sum_s = 0;
  void observe(double seconds);
  std::int64_t total() const { return counts[kBuckets - 1]; }
};

struct Counters {
  std::map<JobOutcome, std::int64_t> jobs_finished;
  std::int64_t jobs_interrupted = 0;  // MC jobs stopped early, also counted in their outcome
  std::int64_t events = 0;            // produced by MC jobs, reported
  std::map<RequestResult, std::int64_t> requests;
  LatencyHistogram request_latency;
  std::int64_t heartbeats = 0;
};

struct PilotStatus {
  // Who: fixed for the pilot's life.
  int pid = 0;
  std::string version;
  std::string host;
  std::string site;
  std::string source;           // the job source, as it describes itself
  std::string pilot_reference;  // the batch job or PILOT_UUID
  double started_at = 0;
  // When this was written, and how often the agent rewrites it: a reader calls the file stale
  // when it is older than a few periods.
  double updated_at = 0;
  double period_s = 5;

  PilotState state = PilotState::starting;
  std::string stop_reason;  // loop_policy.hpp's stop_reason_text, empty while it runs on
  std::string stop_detail;

  // The budget (mjf/budget.hpp).
  std::optional<double> wall_s_left;
  std::vector<std::string> wall_limited_by;  // what sets wall_s_left ("MJF jobfeatures", ...)
  std::optional<double> cpu_work_left_hs06s;

  int slots_total = 1;
  int slots_busy = 0;
  std::vector<JobView> jobs;

  Counters counters;
  std::int64_t reports_pending = 0;  // status reports and heartbeats queued for the source
};

// The status's clock: now, in seconds since the epoch.
double epoch_now();

nlohmann::json to_json(const PilotStatus& s);
nlohmann::json to_json(const JobView& job);  // one element of the status' "jobs"
// Throws pilot::Error naming the field for a document that is not a status (a missing or
// mistyped field, an unknown state).
PilotStatus status_from_json(const nlohmann::json& j);

}  // namespace pilot::monitor
