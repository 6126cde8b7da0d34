#include "mc/cpu_limit.hpp"

#include <algorithm>
#include <cstdio>

namespace pilot::mc {

bool cpu_limit_reached(double cpu_used_s, double cpu_rate, double limit_s, double grace_s,
                       double period_s) {
  if (limit_s <= 0) return false;
  double ahead = std::max(0.0, grace_s) + std::max(0.0, period_s);
  return cpu_used_s + ahead * std::max(cpu_rate, 1.0) >= limit_s;
}

double CpuRate::update(double cpu_s, std::chrono::steady_clock::time_point now) {
  if (last_at_) {
    double dt = std::chrono::duration<double>(now - *last_at_).count();
    // Two samples too close together say nothing reliable about the rate: keep the last one.
    if (dt < 1e-3) return rate_;
    rate_ = std::max(0.0, cpu_s - last_cpu_s_) / dt;
  }
  last_at_ = now;
  last_cpu_s_ = cpu_s;
  return rate_;
}

std::optional<std::string> cpu_limit_stop(CpuRate& rate, double cpu_s, double limit_s,
                                          double grace_s, double period_s,
                                          std::chrono::steady_clock::time_point now) {
  if (limit_s <= 0) return std::nullopt;
  double r = rate.update(cpu_s, now);
  if (!cpu_limit_reached(cpu_s, r, limit_s, grace_s, period_s)) return std::nullopt;
  char buf[160];
  std::snprintf(
      buf, sizeof buf,
      "CPU limit approaching: %.2f s of %.2f s used at %.2f cores, stopping at an event boundary",
      cpu_s, limit_s, std::max(r, 1.0));
  return std::string(buf);
}

}  // namespace pilot::mc
