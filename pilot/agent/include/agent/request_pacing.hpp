#pragma once
// When a pilot asks the Matcher for work (issue 18). At farm scale the Matcher is one service
// shared by thousands of pilots, and the pacing of their requests decides how fast the farm fills
// and whether the service survives. This unit paces one pilot's requests:
//   - a random spread before the first request (`start_spread_s`), so pilots started together
//     by a batch system do not all ask in the same second;
//   - after "no match", and separately after an error or a time-out, exponential back-off with
//     full jitter: the n-th consecutive failure waits a uniform time in
//     [0, min(cap, base x 2^(n-1))]; a match resets both, an answer resets the error count;
//   - while slots are free, at most `max_in_flight` requests at once and `max_requests_per_s`
//     per second.
// `PacingKind::dirac` is DIRAC's JobAgent instead, the baseline the farm simulator compares
// against: one request per cycle of PollingTime, and PollingTime x (failed+1) x 2 after a failed
// one (pilot-behaviour.md section 2), where errors count as failed matches.
//
// Pure and deterministic: times are seconds on the caller's clock (the agent's steady clock, the
// simulator's simulated time) and the randomness comes from the seed, so the agent and
// pilot-farmsim run the same code. Nothing here throws.

#include <cstdint>
#include <optional>
#include <string_view>

namespace pilot::agent {

enum class PacingKind { jitter, dirac };
const char* pacing_name(PacingKind k);
// nullopt for a name that is not one of pacing_name's.
std::optional<PacingKind> pacing_from_name(std::string_view name);

struct PacingLimits {
  PacingKind kind = PacingKind::jitter;
  double start_spread_s = 0;  // the first request is uniform in [start, start + spread]
  // jitter: back-off bases and caps, seconds.
  double no_match_base_s = 20;
  double no_match_cap_s = 600;
  double error_base_s = 5;
  double error_cap_s = 120;
  // jitter: limits while slots are free. 0 requests/s: no rate limit. The agent's calls to its
  // source are serialised on one worker thread, so it never has more than one request out.
  int max_in_flight = 1;
  double max_requests_per_s = 5;
  // dirac: the JobAgent's PollingTime.
  double polling_s = 20;
};

enum class RequestOutcome {
  match,
  no_match,
  error,  // the service could not be reached, failed, or did not answer in time
  // The source answered that it holds only running jobs, none pending (a local queue whose
  // last jobs run): no verdict on the service and no back-off, the caller asks again when one
  // of its jobs ends.
  nothing_pending,
};

class RequestPacing {
 public:
  RequestPacing(PacingLimits limits, std::uint64_t seed);

  // For a pilot starting at `now`: the time of its first request (the start-up spread).
  double start(double now);
  // Whether a request may be sent at `now`: the back-off has passed, the rate allows it and
  // fewer than max_in_flight are out. A pilot with no free slot does not ask (its caller's rule).
  bool may_send(double now) const;
  // The earliest time may_send can become true, ignoring the in-flight limit.
  double next_at() const { return next_at_; }
  // A request leaves at `now`.
  void sent(double now);
  // Its answer (or its failure) arrives at `now`; returns next_at().
  double answered(RequestOutcome outcome, double now);

  int in_flight() const { return in_flight_; }
  int consecutive_no_matches() const { return no_matches_; }
  int consecutive_errors() const { return errors_; }
  const PacingLimits& limits() const { return limits_; }

 private:
  double uniform(double lo, double hi);
  double backoff(double base, double cap, int failures);
  double dirac_wait(RequestOutcome outcome) const;

  PacingLimits limits_;
  std::uint64_t state_;
  double next_at_ = 0;
  int in_flight_ = 0;
  int no_matches_ = 0;
  int errors_ = 0;
};

}  // namespace pilot::agent
