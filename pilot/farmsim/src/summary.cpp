#include "farmsim/summary.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace pilot::farmsim {

namespace {

constexpr int kWindowS = 10;
constexpr double kWarmUpS = 60;
constexpr double kFullUtilisation = 0.95;

// Nearest rank: the smallest value with at least q of them at or below it.
std::optional<double> percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::nullopt;
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::max<std::size_t>(rank, 1) - 1];
}

template <class T>
double window_sum(const std::vector<T>& bins, std::size_t from, std::size_t n) {
  return std::accumulate(bins.begin() + static_cast<std::ptrdiff_t>(from),
                         bins.begin() + static_cast<std::ptrdiff_t>(from + n), 0.0);
}

// Windows of whole bins inside the run: [k, k + 10) with first <= k and k + 10 <= duration.
std::size_t last_window_start(const Scenario& s) {
  return static_cast<std::size_t>(std::floor(s.duration_s)) - kWindowS;
}

std::optional<double> max_offered_ratio(const Scenario& s, const Recorder& r) {
  if (s.duration_s < kWarmUpS + kWindowS) return std::nullopt;
  double most = 0;
  for (auto k = static_cast<std::size_t>(kWarmUpS); k <= last_window_start(s); ++k)
    most = std::max(most, window_sum(r.arrivals_per_bin(), k, kWindowS));
  return most / kWindowS / s.capacity_per_s();
}

std::optional<double> recovery(const Scenario& s, const Recorder& r) {
  if (!s.outage || s.outage->end_s() + kWindowS > s.duration_s) return std::nullopt;
  double full = kFullUtilisation * s.matcher_workers * kWindowS;
  for (auto k = static_cast<std::size_t>(std::ceil(s.outage->end_s())); k <= last_window_start(s);
       ++k) {
    bool saturated = window_sum(r.worker_seconds_per_bin(), k, kWindowS) >= full;
    bool no_idle_slot = window_sum(r.idle_slot_seconds_per_bin(), k, kWindowS) == 0;
    if (saturated || no_idle_slot) return static_cast<double>(k) - s.outage->end_s();
  }
  return std::nullopt;
}

std::vector<SeriesPoint> series(const Scenario& s, const Recorder& r) {
  std::vector<SeriesPoint> points;
  const auto& samples = r.busy_samples();
  auto bins = r.arrivals_per_bin().size();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    std::size_t from = i * static_cast<std::size_t>(s.step_s);
    std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(s.step_s), bins - from);
    double seconds =
        std::min(static_cast<double>(s.step_s), s.duration_s - static_cast<double>(from));
    points.push_back(
        {static_cast<double>(from), samples[i], window_sum(r.arrivals_per_bin(), from, n) / seconds,
         window_sum(r.served_per_bin(), from, n) / seconds,
         window_sum(r.worker_seconds_per_bin(), from, n) / (s.matcher_workers * seconds)});
  }
  return points;
}

void add_fill(const Scenario& s, const Recorder& r, Summary& out) {
  out.time_to_50_s = r.fill_times()[0];
  out.time_to_90_s = r.fill_times()[1];
  out.time_to_99_s = r.fill_times()[2];
  if (out.time_to_99_s) out.fill_ratio_99 = *out.time_to_99_s / s.fill_bound_s();
}

void add_counts(const Recorder& r, Summary& out) {
  const auto& c = r.counts();
  out.requests = c.requests;
  out.matches = c.matches;
  if (c.matches > 0) out.requests_per_match = static_cast<double>(c.requests) / c.matches;
  out.timeouts = c.timeouts;
  out.lost_to_timeouts = c.lost_to_timeouts;
  out.refused = c.refused;
  out.jobs_returned = c.jobs_returned;
  out.declined = c.declined;
  for (const auto& [reason, n] : c.stopped)
    out.pilots_stopped[agent::stop_reason_text(reason)] += n;
}

}  // namespace

Summary summarise(const Scenario& s, const Recorder& r) {
  Summary out;
  add_fill(s, r, out);
  std::vector<double> latencies = r.latencies();
  std::sort(latencies.begin(), latencies.end());
  out.latency_p50_s = percentile(latencies, 0.50);
  out.latency_p99_s = percentile(latencies, 0.99);
  add_counts(r, out);
  const auto& idle = r.idle_slot_seconds_per_bin();
  out.idle_slot_hours = std::accumulate(idle.begin(), idle.end(), 0.0) / 3600;
  const auto& busy = r.worker_seconds_per_bin();
  out.mean_utilisation =
      std::accumulate(busy.begin(), busy.end(), 0.0) / (s.matcher_workers * s.duration_s);
  out.max_offered_ratio_10s = max_offered_ratio(s, r);
  out.recovery_s = recovery(s, r);
  out.series = series(s, r);
  return out;
}

}  // namespace pilot::farmsim
