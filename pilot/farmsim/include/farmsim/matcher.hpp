#pragma once
// The DIRAC Matcher as a queueing station: W worker threads take requests first come, first
// served, each for one service time. It does not know about pilots giving up: a request whose
// client timed out is still served, and its work still done. While down (an outage) it refuses
// every request, and going down fails those it holds. Nothing here throws.
//
// The caller owns the clock and the requests (by id); the Matcher says which request a worker
// starts and when that worker is done.

#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "farmsim/random.hpp"
#include "farmsim/scenario.hpp"

namespace pilot::farmsim {

struct ServiceTime {
  ServiceDist dist = ServiceDist::constant;
  double mean_s = 0.4;
  double cv = 0;  // lognormal only
  double draw(Random& random) const;
};

// A worker took `request` and is done with it at `done_at`.
struct Started {
  int request = 0;
  double done_at = 0;
};

class Matcher {
 public:
  Matcher(int workers, ServiceTime service, std::uint64_t seed);

  bool up() const { return up_; }
  // `request` arrives at `now` while up: a free worker starts it, or it waits (nullopt).
  std::optional<Started> arrive(int request, double now);
  // The worker serving `request` is done at `now`: it starts the next waiting one, if any.
  std::optional<Started> finish(int request, double now);
  // The outage begins: every request waiting or in service fails (returned); workers idle.
  std::vector<int> go_down();
  void come_up() { up_ = true; }

  int busy() const { return static_cast<int>(in_service_.size()); }
  std::size_t waiting() const { return queue_.size(); }

 private:
  Started start(int request, double now);

  int workers_;
  ServiceTime service_;
  Random random_;
  bool up_ = true;
  std::deque<int> queue_;
  std::vector<int> in_service_;
};

}  // namespace pilot::farmsim
