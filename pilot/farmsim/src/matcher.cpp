#include "farmsim/matcher.hpp"

#include <algorithm>

namespace pilot::farmsim {

double ServiceTime::draw(Random& random) const {
  switch (dist) {
    case ServiceDist::constant:
      return mean_s;
    case ServiceDist::exponential:
      return random.exponential(mean_s);
    case ServiceDist::lognormal:
      return random.lognormal(mean_s, cv);
  }
  return mean_s;
}

Matcher::Matcher(int workers, ServiceTime service, std::uint64_t seed)
    : workers_(workers), service_(service), random_(seed) {}

Started Matcher::start(int request, double now) {
  in_service_.push_back(request);
  return Started{request, now + service_.draw(random_)};
}

std::optional<Started> Matcher::arrive(int request, double now) {
  if (busy() < workers_) return start(request, now);
  queue_.push_back(request);
  return std::nullopt;
}

std::optional<Started> Matcher::finish(int request, double now) {
  // W is small (tens of threads): a linear search beats any index.
  auto it = std::find(in_service_.begin(), in_service_.end(), request);
  if (it != in_service_.end()) in_service_.erase(it);
  if (queue_.empty() || busy() >= workers_) return std::nullopt;
  int next = queue_.front();
  queue_.pop_front();
  return start(next, now);
}

std::vector<int> Matcher::go_down() {
  up_ = false;
  std::vector<int> failed(in_service_.begin(), in_service_.end());
  failed.insert(failed.end(), queue_.begin(), queue_.end());
  in_service_.clear();
  queue_.clear();
  return failed;
}

}  // namespace pilot::farmsim
