#include "mjf/watcher.hpp"

#include <ctime>

namespace pilot::mjf {
namespace {

// The slot's own limit as compute_budget chooses it (without announced shutdowns).
std::optional<SlotDeadline> slot_limit(const Observation& obs, const Config& config) {
  Observation only = obs;
  only.mjf.job.shutdowntime_job.reset();
  only.mjf.machine.shutdowntime.reset();
  only.shutdown_file.reset();
  auto b = compute_budget(only, config, 0);
  if (b.deadlines.empty()) return std::nullopt;
  return b.deadlines.front();
}

void compare_shutdown(Limit source, std::optional<std::int64_t> a, std::optional<std::int64_t> b,
                      std::vector<Change>& out) {
  if (a == b) return;
  ChangeKind kind = !a        ? ChangeKind::shutdown_announced
                    : !b      ? ChangeKind::shutdown_withdrawn
                    : *b < *a ? ChangeKind::shutdown_moved_earlier
                              : ChangeKind::shutdown_moved_later;
  out.push_back({kind, source, a, b});
}

}  // namespace

std::string_view change_name(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::shutdown_announced:
      return "shutdown_announced";
    case ChangeKind::shutdown_moved_earlier:
      return "shutdown_moved_earlier";
    case ChangeKind::shutdown_moved_later:
      return "shutdown_moved_later";
    case ChangeKind::shutdown_withdrawn:
      return "shutdown_withdrawn";
    case ChangeKind::limit_reduced:
      return "limit_reduced";
    case ChangeKind::limit_extended:
      return "limit_extended";
    case ChangeKind::drain_requested:
      return "drain_requested";
    case ChangeKind::drain_lifted:
      return "drain_lifted";
  }
  return "unknown";
}

std::vector<Change> diff(const Observation& before, const Observation& after,
                         const Config& config) {
  std::vector<Change> out;
  compare_shutdown(Limit::shutdowntime_job, before.mjf.job.shutdowntime_job,
                   after.mjf.job.shutdowntime_job, out);
  compare_shutdown(Limit::shutdowntime, before.mjf.machine.shutdowntime,
                   after.mjf.machine.shutdowntime, out);
  compare_shutdown(Limit::shutdown_file, before.shutdown_file, after.shutdown_file, out);
  auto a = slot_limit(before, config), b = slot_limit(after, config);
  if (a && b && a->epoch != b->epoch)
    out.push_back({b->epoch < a->epoch ? ChangeKind::limit_reduced : ChangeKind::limit_extended,
                   b->source, a->epoch, b->epoch});
  else if (a && !b)
    out.push_back({ChangeKind::limit_extended, a->source, a->epoch, std::nullopt});
  else if (!a && b)
    out.push_back({ChangeKind::limit_reduced, b->source, std::nullopt, b->epoch});
  if (before.drain_file != after.drain_file)
    out.push_back({after.drain_file ? ChangeKind::drain_requested : ChangeKind::drain_lifted,
                   std::nullopt, std::nullopt, std::nullopt});
  return out;
}

Watcher::Watcher(ObserveSettings settings, Config config, log::Logger log, Clock clock)
    : settings_(std::move(settings)),
      config_(config),
      log_(std::move(log)),
      clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return static_cast<std::int64_t>(std::time(nullptr)); };
  obs_ = observe(settings_, log_, clock_());
}

std::vector<Change> Watcher::poll() {
  Observation next = obs_;
  reobserve(next, settings_, log_, clock_());
  auto changes = diff(obs_, next, config_);
  obs_ = std::move(next);
  for (const auto& c : changes) {
    log::Fields f{{"change", change_name(c.kind)}};
    if (c.source) f.emplace_back("source", limit_name(*c.source));
    if (c.before) f.emplace_back("before", *c.before);
    if (c.after) f.emplace_back("after", *c.after);
    log_.info("slot limits changed", f);
  }
  return changes;
}

WatcherThread::WatcherThread(Watcher& watcher, std::chrono::milliseconds period, Callback callback)
    : watcher_(watcher),
      period_(period),
      callback_(std::move(callback)),
      thread_([this] { run(); }) {}

WatcherThread::~WatcherThread() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WatcherThread::run() {
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, period_, [this] { return stop_; })) {
    lock.unlock();
    auto changes = watcher_.poll();
    if (!changes.empty()) callback_(changes, watcher_.budget());
    lock.lock();
  }
}

}  // namespace pilot::mjf
