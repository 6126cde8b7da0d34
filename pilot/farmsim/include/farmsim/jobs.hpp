#pragma once
// The jobs waiting at t = 0, and the backlog the Matcher hands them out of. Nothing here throws
// (beyond std::bad_alloc).

#include <cstdint>
#include <optional>
#include <queue>
#include <vector>

#include "farmsim/random.hpp"
#include "farmsim/scenario.hpp"

namespace pilot::farmsim {

struct Job {
  double length_s = 0;
  int processors = 1;
};

// The scenario's backlog in submission order: lengths uniform in [job_min_s, job_max_s],
// processors drawn from processors_mix, from the random stream `seed`.
std::vector<Job> make_jobs(const Scenario& s, std::uint64_t seed);

// Waiting jobs by index into make_jobs' vector, the oldest first (a lower index was submitted
// earlier, and a job coming back keeps its index, as a rescheduled DIRAC job keeps its id).
class Backlog {
 public:
  explicit Backlog(const std::vector<Job>& jobs);

  // The oldest waiting job that needs at most `processors`, taken out; nullopt: none fits.
  std::optional<int> take(int processors);
  void put_back(int job);
  std::int64_t size() const { return size_; }

 private:
  using OldestFirst = std::priority_queue<int, std::vector<int>, std::greater<>>;
  // One queue per processor count, so a request does not scan past jobs too large for it.
  struct Class {
    int processors;
    OldestFirst jobs;
  };
  Class& class_of(int processors);

  const std::vector<Job>& jobs_;
  std::vector<Class> classes_;  // ascending processors
  std::int64_t size_ = 0;
};

}  // namespace pilot::farmsim
