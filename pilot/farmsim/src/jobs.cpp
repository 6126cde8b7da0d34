#include "farmsim/jobs.hpp"

#include <algorithm>

namespace pilot::farmsim {

std::vector<Job> make_jobs(const Scenario& s, std::uint64_t seed) {
  Random random(seed);
  std::vector<double> weights;
  for (const auto& share : s.processors_mix) weights.push_back(share.weight);
  std::vector<Job> jobs(static_cast<std::size_t>(s.backlog_jobs()));
  for (auto& job : jobs) {
    job.length_s = random.uniform(s.job_min_s, s.job_max_s);
    job.processors = s.processors_mix[random.weighted(weights)].processors;
  }
  return jobs;
}

Backlog::Backlog(const std::vector<Job>& jobs) : jobs_(jobs) {
  for (int i = 0; i < static_cast<int>(jobs.size()); ++i) put_back(i);
}

Backlog::Class& Backlog::class_of(int processors) {
  auto it = std::lower_bound(classes_.begin(), classes_.end(), processors,
                             [](const Class& c, int p) { return c.processors < p; });
  if (it == classes_.end() || it->processors != processors)
    it = classes_.insert(it, Class{processors, {}});
  return *it;
}

void Backlog::put_back(int job) {
  class_of(jobs_[static_cast<std::size_t>(job)].processors).jobs.push(job);
  ++size_;
}

std::optional<int> Backlog::take(int processors) {
  Class* oldest = nullptr;
  for (auto& c : classes_) {
    if (c.processors > processors) break;
    if (!c.jobs.empty() && (!oldest || c.jobs.top() < oldest->jobs.top())) oldest = &c;
  }
  if (!oldest) return std::nullopt;
  int job = oldest->jobs.top();
  oldest->jobs.pop();
  --size_;
  return job;
}

}  // namespace pilot::farmsim
