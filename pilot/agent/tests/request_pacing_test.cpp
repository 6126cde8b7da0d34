#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "agent/request_pacing.hpp"

using pilot::agent::PacingKind;
using pilot::agent::PacingLimits;
using pilot::agent::RequestOutcome;
using pilot::agent::RequestPacing;

namespace {

PacingLimits jitter_limits() {
  PacingLimits l;
  l.no_match_base_s = 10;
  l.no_match_cap_s = 100;
  l.error_base_s = 2;
  l.error_cap_s = 30;
  l.max_requests_per_s = 0;
  return l;
}

// The wait after the n-th consecutive outcome of one kind, for one seed.
std::vector<double> waits(RequestPacing p, RequestOutcome outcome, int n) {
  std::vector<double> w;
  double now = 1000;
  for (int i = 0; i < n; ++i) {
    p.sent(now);
    double next = p.answered(outcome, now);
    w.push_back(next - now);
    now = next;
  }
  return w;
}

}  // namespace

TEST_CASE("pacing: the start-up spread is uniform within its bound, and absent by default") {
  PacingLimits l;
  CHECK(RequestPacing(l, 1).start(50) == 50);
  l.start_spread_s = 60;
  double lo = 1e9, hi = -1, sum = 0;
  const int n = 4000;
  for (int seed = 0; seed < n; ++seed) {
    double t = RequestPacing(l, static_cast<std::uint64_t>(seed)).start(100) - 100;
    REQUIRE(t >= 0);
    REQUIRE(t <= 60);
    lo = std::min(lo, t), hi = std::max(hi, t), sum += t;
  }
  // Spread over the whole window, not bunched: 4000 draws reach both ends and average near 30.
  CHECK(lo < 1);
  CHECK(hi > 59);
  CHECK(sum / n == Approx(30).margin(1.5));
}

TEST_CASE("pacing: full jitter keeps the n-th wait within [0, min(cap, base x 2^(n-1))]") {
  const int n = 12;
  std::vector<double> max_seen(n, 0.0);
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    auto w = waits(RequestPacing(jitter_limits(), seed), RequestOutcome::no_match, n);
    for (int i = 0; i < n; ++i) {
      double ceiling = std::min(100.0, 10 * std::exp2(i));
      REQUIRE(w[static_cast<std::size_t>(i)] >= 0);
      REQUIRE(w[static_cast<std::size_t>(i)] <= ceiling);
      max_seen[static_cast<std::size_t>(i)] =
          std::max(max_seen[static_cast<std::size_t>(i)], w[static_cast<std::size_t>(i)]);
    }
  }
  // The ceiling doubles until the cap, and the draws reach it (500 seeds).
  CHECK(max_seen[0] > 9);
  CHECK(max_seen[0] <= 10);
  CHECK(max_seen[2] > 36);
  CHECK(max_seen[2] <= 40);
  for (int i = 4; i < n; ++i) CHECK(max_seen[static_cast<std::size_t>(i)] > 90);
}

TEST_CASE("pacing: errors back off on their own base and cap") {
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    auto w = waits(RequestPacing(jitter_limits(), seed), RequestOutcome::error, 10);
    CHECK(w[0] <= 2);
    CHECK(w[1] <= 4);
    for (double x : w) CHECK(x <= 30);
  }
}

TEST_CASE("pacing: a match resets both back-offs, an answer the error count") {
  RequestPacing p(jitter_limits(), 7);
  double now = 0;
  for (int i = 0; i < 5; ++i) {
    p.sent(now);
    now = p.answered(RequestOutcome::no_match, now);
  }
  for (int i = 0; i < 3; ++i) {
    p.sent(now);
    now = p.answered(RequestOutcome::error, now);
  }
  CHECK(p.consecutive_no_matches() == 5);
  CHECK(p.consecutive_errors() == 3);
  p.sent(now);
  now = p.answered(RequestOutcome::no_match, now);
  CHECK(p.consecutive_errors() == 0);
  CHECK(p.consecutive_no_matches() == 6);
  p.sent(now);
  CHECK(p.answered(RequestOutcome::match, now + 0.5) == now + 0.5);
  CHECK(p.consecutive_no_matches() == 0);
  // After the reset the next no-match waits within the first ceiling again.
  p.sent(now + 0.5);
  CHECK(p.answered(RequestOutcome::no_match, now + 1) - (now + 1) <= 10);
}

TEST_CASE("pacing: at most max_requests_per_s while matches keep coming") {
  auto l = jitter_limits();
  l.max_requests_per_s = 4;
  RequestPacing p(l, 3);
  double now = 10;
  int sent = 0;
  // A Matcher answering a match in 10 ms: the rate limit, not the answers, sets the pace.
  while (now < 20) {
    if (!p.may_send(now)) {
      now = p.next_at();
      continue;
    }
    p.sent(now);
    ++sent;
    p.answered(RequestOutcome::match, now + 0.01);
    now += 0.01;
  }
  CHECK(sent == 40);
}

TEST_CASE("pacing: no more than max_in_flight requests out at once") {
  auto l = jitter_limits();
  l.max_in_flight = 2;
  RequestPacing p(l, 3);
  CHECK(p.may_send(0));
  p.sent(0);
  CHECK(p.may_send(0));
  p.sent(0);
  CHECK_FALSE(p.may_send(0));
  CHECK(p.in_flight() == 2);
  p.answered(RequestOutcome::match, 1);
  CHECK(p.may_send(1));
}

TEST_CASE("pacing: nothing pending is no verdict on the service and adds no wait") {
  RequestPacing p(jitter_limits(), 5);
  p.sent(3);
  CHECK(p.answered(RequestOutcome::nothing_pending, 4) <= 4);  // may ask at once
  CHECK(p.consecutive_no_matches() == 0);
  CHECK(p.in_flight() == 0);
}

TEST_CASE("pacing: DIRAC's JobAgent waits PollingTime per cycle, x (failed+1) x 2 after failures") {
  PacingLimits l;
  l.kind = PacingKind::dirac;
  l.polling_s = 20;
  RequestPacing p(l, 1);
  p.sent(0);
  CHECK(p.answered(RequestOutcome::match, 1) == 21);
  p.sent(21);
  CHECK(p.answered(RequestOutcome::no_match, 22) == 22 + 80);  // 20 x 2 x 2
  p.sent(102);
  // A time-out counts as a failed match, as in JobAgent._checkMatchingIssues.
  CHECK(p.answered(RequestOutcome::error, 222) == 222 + 120);
  CHECK(p.consecutive_no_matches() == 2);
  p.sent(342);
  CHECK(p.answered(RequestOutcome::match, 343) == 363);
  CHECK(p.consecutive_no_matches() == 0);
}

TEST_CASE("pacing: the same seed gives the same waits, another seed others") {
  auto a = waits(RequestPacing(jitter_limits(), 42), RequestOutcome::no_match, 8);
  auto b = waits(RequestPacing(jitter_limits(), 42), RequestOutcome::no_match, 8);
  auto c = waits(RequestPacing(jitter_limits(), 43), RequestOutcome::no_match, 8);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("pacing: kinds have one name each") {
  for (auto k : {PacingKind::jitter, PacingKind::dirac})
    CHECK(pilot::agent::pacing_from_name(pilot::agent::pacing_name(k)) == k);
  CHECK_FALSE(pilot::agent::pacing_from_name("linear"));
}

TEST_CASE("pacing: an answer slower than congestion_latency_s waits factor x the excess") {
  auto l = jitter_limits();
  l.congestion_latency_s = 1;
  l.congestion_factor = 2;
  double sum = 0;
  const int n = 2000;
  for (std::uint64_t seed = 0; seed < n; ++seed) {
    RequestPacing p(l, seed);
    // A fast answer (the Matcher's own service time): ask again at once.
    p.sent(0);
    REQUIRE(p.answered(RequestOutcome::match, 0.3) == Approx(0.3));
    // One that queued 31 s: 2 x 30 s more on average, uniform up to twice that.
    p.sent(10);
    double wait = p.answered(RequestOutcome::match, 41) - 41;
    REQUIRE(wait >= 0);
    REQUIRE(wait <= 120);
    sum += wait;
    // A slow "no match" waits the longer of its back-off and the congestion wait.
    p.sent(200);
    REQUIRE(p.answered(RequestOutcome::no_match, 210) - 210 <= std::max(10.0, 2 * 2 * 9.0));
    // A time-out is an error: its own back-off, not twice the time-out.
    p.sent(300);
    REQUIRE(p.answered(RequestOutcome::error, 420) - 420 <= 2);
  }
  CHECK(sum / n == Approx(60).margin(3));
}

TEST_CASE("pacing: with several requests out, an answer is the oldest request's") {
  auto l = jitter_limits();
  l.max_in_flight = 2;
  l.congestion_latency_s = 1;
  l.congestion_factor = 1;
  double longest = 0;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    RequestPacing q(l, seed);
    q.sent(0);
    q.sent(10);
    // The request of t = 0 took 12 s (11 in excess: up to 22 s more); taken for the one of
    // t = 10 it would be 2 s (up to 2 s more).
    double wait = q.answered(RequestOutcome::match, 12) - 12;
    REQUIRE(wait <= 22);
    longest = std::max(longest, wait);
    REQUIRE(q.in_flight() == 1);
  }
  CHECK(longest > 15);
}
