#pragma once
// The simulator's randomness: one fixed generator (splitmix64, the one RequestPacing uses), so a
// seed gives the same run on every platform; the standard library's distributions are
// implementation-defined and would not. Nothing here throws.

#include <cstddef>
#include <cstdint>
#include <span>

namespace pilot::farmsim {

// A seed for one independent stream of `seed` (the jobs, the start times, each pilot, ...).
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next();
  double uniform();                          // [0, 1)
  double uniform(double lo, double hi);      // [lo, hi)
  double exponential(double mean);           // mean > 0
  double lognormal(double mean, double cv);  // the given mean and coefficient of variation
  // The index of a weight, chosen in proportion to it; weights are positive, at least one.
  std::size_t weighted(std::span<const double> weights);

 private:
  double standard_normal();

  std::uint64_t state_;
};

}  // namespace pilot::farmsim
