#include "agent/request_pacing.hpp"

#include <algorithm>
#include <cmath>

namespace pilot::agent {

const char* pacing_name(PacingKind k) {
  switch (k) {
    case PacingKind::jitter:
      return "jitter";
    case PacingKind::dirac:
      return "dirac";
  }
  return "?";
}

std::optional<PacingKind> pacing_from_name(std::string_view name) {
  for (auto k : {PacingKind::jitter, PacingKind::dirac})
    if (name == pacing_name(k)) return k;
  return std::nullopt;
}

RequestPacing::RequestPacing(PacingLimits limits, std::uint64_t seed)
    : limits_(limits), state_(seed) {
  limits_.max_in_flight = std::max(1, limits_.max_in_flight);
}

// splitmix64: a fixed generator, so a seed gives the same waits on every platform (the
// standard distributions are implementation-defined).
double RequestPacing::uniform(double lo, double hi) {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  double u = static_cast<double>(z >> 11) * 0x1.0p-53;  // [0, 1)
  return lo + (hi - lo) * u;
}

double RequestPacing::backoff(double base, double cap, int failures) {
  // 2^(n-1) saturates long before the exponent could overflow a double.
  double ceiling = std::min(cap, base * std::exp2(std::min(failures - 1, 60)));
  return uniform(0, ceiling);
}

double RequestPacing::start(double now) {
  next_at_ = now + (limits_.start_spread_s > 0 ? uniform(0, limits_.start_spread_s) : 0);
  return next_at_;
}

bool RequestPacing::may_send(double now) const {
  return in_flight_ < limits_.max_in_flight && now >= next_at_;
}

void RequestPacing::sent(double now) {
  ++in_flight_;
  sent_at_.push_back(now);
  if (limits_.kind == PacingKind::jitter && limits_.max_requests_per_s > 0)
    next_at_ = std::max(next_at_, now + 1 / limits_.max_requests_per_s);
}

double RequestPacing::dirac_wait(RequestOutcome outcome) const {
  if (outcome == RequestOutcome::match) return limits_.polling_s;
  return limits_.polling_s * (no_matches_ + 1) * 2;
}

// Jittered like the back-offs: pilots answered together by a queue that has just drained must
// not come back together (a wave that fills it again).
double RequestPacing::congestion_wait(double latency) {
  double excess = latency - limits_.congestion_latency_s;
  return excess > 0 ? uniform(0, 2 * limits_.congestion_factor * excess) : 0;
}

double RequestPacing::answered(RequestOutcome outcome, double now) {
  in_flight_ = std::max(0, in_flight_ - 1);
  double latency = 0;
  if (!sent_at_.empty()) {
    latency = now - sent_at_.front();
    sent_at_.pop_front();
  }
  if (outcome == RequestOutcome::nothing_pending) return next_at_;
  if (limits_.kind == PacingKind::dirac) {
    // The JobAgent counts every failed request, error or not, as a failed match.
    no_matches_ = outcome == RequestOutcome::match ? 0 : no_matches_ + 1;
    next_at_ = now + dirac_wait(outcome);
    return next_at_;
  }
  switch (outcome) {
    case RequestOutcome::match:
      no_matches_ = errors_ = 0;
      // The rate limit set when it was sent still holds.
      next_at_ = std::max(now + congestion_wait(latency), next_at_);
      break;
    case RequestOutcome::no_match:
      errors_ = 0;
      ++no_matches_;
      next_at_ =
          std::max({next_at_, now + congestion_wait(latency),
                    now + backoff(limits_.no_match_base_s, limits_.no_match_cap_s, no_matches_)});
      break;
    case RequestOutcome::error:
      ++errors_;
      next_at_ =
          std::max(next_at_, now + backoff(limits_.error_base_s, limits_.error_cap_s, errors_));
      break;
    case RequestOutcome::nothing_pending:
      break;
  }
  return next_at_;
}

}  // namespace pilot::agent
