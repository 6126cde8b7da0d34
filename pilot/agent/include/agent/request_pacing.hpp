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
//     per second;
//   - after an answer that took L seconds, more than `congestion_latency_s` (c), a further wait
//     of `congestion_factor` x (L - c) on average (uniform in [0, 2 x factor x (L - c)]) before
//     the next request. An answer that slow has queued at the
//     service; with every pilot waiting in proportion, the queue holds 1 / (1 + factor) of the
//     pilots instead of all of them, its answers stay within the client time-out for a farm
//     that many times larger, and the service stays as busy (farmsim, HLT Matcher of 50
//     requests/s and a 120 s time-out: without it a farm of 6,000 nodes collapses into time-outs,
//     with factor 1 one of 7,000 fills at 1.07x the bound; near 11,000 it collapses too).
// `PacingKind::dirac` is DIRAC's JobAgent instead, the baseline the farm simulator compares
// against: one request per cycle of PollingTime, and PollingTime x (failed+1) x 2 after a failed
// one (pilot-behaviour.md section 2), where errors count as failed matches.
//
// Pure and deterministic: times are seconds on the caller's clock (the agent's steady clock, the
// simulator's simulated time) and the randomness comes from the seed, so the agent and
// pilot-farmsim run the same code. Nothing here throws.

#include <cstdint>
#include <deque>
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
  // jitter: the wait after a slow answer. A Matcher answering one client takes 0.2 s.
  double congestion_latency_s = 1;
  double congestion_factor = 1;  // 2 and more make the farm's requests oscillate (farmsim)
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
  // The answer (or the failure) of the oldest request out arrives at `now`; returns next_at().
  double answered(RequestOutcome outcome, double now);

  int in_flight() const { return in_flight_; }
  int consecutive_no_matches() const { return no_matches_; }
  int consecutive_errors() const { return errors_; }
  const PacingLimits& limits() const { return limits_; }

 private:
  double uniform(double lo, double hi);
  double backoff(double base, double cap, int failures);
  double dirac_wait(RequestOutcome outcome) const;
  double congestion_wait(double latency);

  PacingLimits limits_;
  std::uint64_t state_;
  double next_at_ = 0;
  std::deque<double> sent_at_;  // of the requests out, oldest first
  int in_flight_ = 0;
  int no_matches_ = 0;
  int errors_ = 0;
};

}  // namespace pilot::agent
