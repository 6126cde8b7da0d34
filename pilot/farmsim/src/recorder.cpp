#include "farmsim/recorder.hpp"

#include <algorithm>
#include <cmath>

namespace pilot::farmsim {

namespace {

std::size_t bin_count(double duration_s) {
  return static_cast<std::size_t>(std::ceil(duration_s));
}

}  // namespace

void LevelIntegral::close(double t) {
  double end = std::min(t, static_cast<double>(bins_.size()));
  while (since_ < end) {
    auto bin = static_cast<std::size_t>(since_);
    double upto = std::min(end, static_cast<double>(bin + 1));
    bins_[bin] += level_ * (upto - since_);
    since_ = upto;
  }
}

void LevelIntegral::set(double t, double level) {
  close(t);
  level_ = level;
}

Recorder::Recorder(const Scenario& s)
    : duration_s_(s.duration_s),
      slots_(s.slots()),
      step_s_(s.step_s),
      arrivals_(bin_count(s.duration_s), 0),
      served_(bin_count(s.duration_s), 0),
      workers_(bin_count(s.duration_s), 0),
      idle_(bin_count(s.duration_s), static_cast<double>(s.slots())),
      samples_(static_cast<std::size_t>(std::ceil(s.duration_s / s.step_s)), 0) {}

void Recorder::sent(double t) {
  ++counts_.requests;
  if (t < duration_s_) ++arrivals_[static_cast<std::size_t>(t)];
}

void Recorder::served(double t) {
  if (t < duration_s_) ++served_[static_cast<std::size_t>(t)];
}

void Recorder::busy_workers(double t, int busy) {
  workers_.set(t, busy);
}

void Recorder::sample_until(double t) {
  while (next_sample_ < samples_.size() && static_cast<double>(next_sample_) * step_s_ < t)
    samples_[next_sample_++] = busy_;
}

void Recorder::busy_slots(double t, std::int64_t busy) {
  sample_until(t);
  busy_ = busy;
  idle_.set(t, static_cast<double>(slots_ - busy));
  for (std::size_t i = 0; i < kFillPercents.size(); ++i)
    if (!fill_times_[i] && busy * 100 >= kFillPercents[i] * slots_) fill_times_[i] = t;
}

void Recorder::finish() {
  sample_until(duration_s_);
  workers_.close(duration_s_);
  idle_.close(duration_s_);
}

}  // namespace pilot::farmsim
