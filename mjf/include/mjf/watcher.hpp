#pragma once
// Watching the slot while the pilot runs. The core is a poll API, because that composes with any
// event loop: the agent arms a timer for every `period`, calls Watcher::poll(), and acts on the
// returned changes and budget in its own thread, without locks. poll() blocks for at most the MJF
// HTTP timeouts and the batch command timeout; an agent that must never block its loop runs
// WatcherThread instead, which polls on its own thread and hands every non-empty change list to a
// callback (called on the watcher thread: post it into the loop; it must not throw).
//
// Changes are reported per deadline source: an announced shutdown (shutdowntime,
// shutdowntime_job, the shutdown file) that appears, moves earlier or later, or is withdrawn; the
// slot's own limit (MJF wall limit, batch end time) reduced or extended; the drain file appearing
// or going away.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "core/log.hpp"
#include "mjf/budget.hpp"
#include "mjf/observe.hpp"

namespace pilot::mjf {

enum class ChangeKind {
  shutdown_announced,
  shutdown_moved_earlier,
  shutdown_moved_later,
  shutdown_withdrawn,
  limit_reduced,
  limit_extended,
  drain_requested,
  drain_lifted,
};
std::string_view change_name(ChangeKind kind);

struct Change {
  ChangeKind kind;
  std::optional<Limit> source;         // none for the drain file
  std::optional<std::int64_t> before;  // epochs
  std::optional<std::int64_t> after;
};

// What changed between two observations (pure: the watcher and tests share it).
std::vector<Change> diff(const Observation& before, const Observation& after, const Config& config);

class Watcher {
 public:
  using Clock = std::function<std::int64_t()>;  // epoch seconds
  // Makes the first full observation. `clock` defaults to the system clock.
  Watcher(ObserveSettings settings, Config config, log::Logger log, Clock clock = {});

  // Re-checks the dynamic values; returns what changed since the previous poll (and logs it).
  std::vector<Change> poll();

  const Observation& observation() const { return obs_; }
  ResourceBudget budget() const { return compute_budget(obs_, config_, clock_()); }
  std::int64_t now() const { return clock_(); }

 private:
  ObserveSettings settings_;
  Config config_;
  log::Logger log_;
  Clock clock_;
  Observation obs_;
};

// Runs watcher.poll() every `period` on its own thread until destroyed. The watcher must outlive
// this object and must not be polled by anyone else meanwhile.
class WatcherThread {
 public:
  using Callback = std::function<void(const std::vector<Change>&, const ResourceBudget&)>;
  WatcherThread(Watcher& watcher, std::chrono::milliseconds period, Callback callback);
  ~WatcherThread();
  WatcherThread(const WatcherThread&) = delete;
  WatcherThread& operator=(const WatcherThread&) = delete;

 private:
  void run();
  Watcher& watcher_;
  std::chrono::milliseconds period_;
  Callback callback_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace pilot::mjf
