#include "monitor/stomp_publisher.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <thread>

namespace pilot::monitor {
namespace {

using Clock = StompPublisher::Clock;
using std::chrono::milliseconds;

struct Record {
  std::int64_t seq = 0;  // its receipt: "r<seq>", unique for the publisher's life
  RecordKind kind = RecordKind::job;
  std::string json;
  Clock::time_point sent_at{};
};

// Receipt slices: how long the thread waits for the broker before it looks at its queue again,
// which also bounds how late stop() can return.
constexpr milliseconds kReadSlice{100};
constexpr milliseconds kIdleSlice{200};
// Drops are logged at most this often while they go on, and once more at the end.
constexpr auto kDropLogEvery = std::chrono::seconds(10);

milliseconds until(Clock::time_point t) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(t - Clock::now()));
}

}  // namespace

const char* record_kind_name(RecordKind kind) {
  switch (kind) {
    case RecordKind::job:
      return "job";
    case RecordKind::pilot:
      return "pilot";
  }
  return "?";
}

milliseconds backoff_delay(const PublisherOptions& options, int failures, double jitter) {
  double base = static_cast<double>(options.backoff_min.count()) *
                std::pow(2.0, std::clamp(failures - 1, 0, 30));
  base = std::min(base, static_cast<double>(options.backoff_max.count()));
  return milliseconds(static_cast<long long>(base * std::clamp(jitter, 0.5, 1.0)));
}

struct StompPublisher::State {
  StompSettings settings;
  log::Logger log;
  PublisherOptions options;

  mutable std::mutex mutex;
  std::condition_variable wake;
  std::deque<Record> queue;
  PublisherCounters counters;  // `pending` is computed by counters()
  std::int64_t in_flight = 0;
  bool stopping = false;
  Clock::time_point deadline = Clock::time_point::max();

  std::mutex join_mutex;
  std::thread thread;
  bool finished = false;             // under `mutex`: run() returned
  std::condition_variable ended;     // notified when it does
  std::atomic<bool> give_up{false};  // set by stop() at its deadline: cuts any wait short

  std::int64_t dropped_logged = 0;
  Clock::time_point drops_logged_at{};
  std::minstd_rand random{static_cast<unsigned>(::getpid()) ^
                          static_cast<unsigned>(Clock::now().time_since_epoch().count())};

  void run();
  void session(StompClient& client, std::map<std::int64_t, Record>& inflight);
  void fill(StompClient& client, std::map<std::int64_t, Record>& inflight);
  void await_receipt(StompClient& client, std::map<std::int64_t, Record>& inflight);
  void idle(StompClient& client);
  void requeue(std::map<std::int64_t, Record>& inflight);
  void back_off(int failures);
  void report_drops(bool final);
  bool done() {
    std::lock_guard lock(mutex);
    return stopping && (Clock::now() >= deadline || (queue.empty() && in_flight == 0));
  }
  Clock::time_point stop_deadline() {
    std::lock_guard lock(mutex);
    return stopping ? deadline : Clock::time_point::max();
  }
  // The I/O time-out, shortened so that no step outlasts a stop deadline.
  milliseconds io_budget() {
    auto d = stop_deadline();
    return d == Clock::time_point::max()
               ? options.io_timeout
               : std::clamp(until(d), milliseconds(1), options.io_timeout);
  }
};

void StompPublisher::State::requeue(std::map<std::int64_t, Record>& inflight) {
  std::lock_guard lock(mutex);
  for (auto it = inflight.rbegin(); it != inflight.rend(); ++it)
    queue.push_front(std::move(it->second));
  inflight.clear();
  in_flight = 0;
  while (queue.size() > settings.queue_bound) {
    queue.pop_front();
    ++counters.dropped;
  }
}

void StompPublisher::State::fill(StompClient& client, std::map<std::int64_t, Record>& inflight) {
  std::vector<Record> batch;
  {
    std::lock_guard lock(mutex);
    while (inflight.size() + batch.size() < options.window && !queue.empty()) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    in_flight += static_cast<std::int64_t>(batch.size());
  }
  // All kept before any is sent: a write that throws leaves the batch to be re-sent.
  std::vector<Record*> sending;
  for (auto& r : batch) sending.push_back(&inflight.emplace(r.seq, std::move(r)).first->second);
  for (Record* r : sending) {
    r->sent_at = Clock::now();
    const auto& destination =
        r->kind == RecordKind::job ? settings.destination : settings.pilot_destination;
    client.send(destination, r->json, "r" + std::to_string(r->seq));
  }
}

void StompPublisher::State::await_receipt(StompClient& client,
                                          std::map<std::int64_t, Record>& inflight) {
  auto frame = client.read_frame(std::min(Clock::now() + kReadSlice, stop_deadline()));
  if (frame && frame->command == "RECEIPT") {
    auto id = frame->header("receipt-id").value_or("");
    std::int64_t seq = id.size() > 1 && id[0] == 'r' ? std::atoll(id.c_str() + 1) : -1;
    if (inflight.erase(seq) == 1) {
      std::lock_guard lock(mutex);
      --in_flight;
      ++counters.confirmed;
    }
  }
  if (!inflight.empty() && Clock::now() - inflight.begin()->second.sent_at > options.io_timeout)
    throw StompError(StompErrorKind::timeout, client.where() + ": no receipt within " +
                                                  std::to_string(options.io_timeout.count()) +
                                                  " ms");
}

void StompPublisher::State::idle(StompClient& client) {
  {
    std::unique_lock lock(mutex);
    auto until_t =
        std::min(Clock::now() + kIdleSlice, stopping ? deadline : Clock::time_point::max());
    wake.wait_until(lock, until_t, [&] { return !queue.empty() || stopping; });
  }
  // Reads what the broker sent meanwhile (its heart-beats, an ERROR) and beats ours.
  client.read_frame(Clock::now());
}

void StompPublisher::State::session(StompClient& client, std::map<std::int64_t, Record>& inflight) {
  while (!done()) {
    client.set_io_timeout(io_budget());
    fill(client, inflight);
    report_drops(false);
    if (!inflight.empty())
      await_receipt(client, inflight);
    else
      idle(client);
  }
}

void StompPublisher::State::back_off(int failures) {
  auto delay = backoff_delay(options, failures, std::uniform_real_distribution(0.5, 1.0)(random));
  auto until_t = Clock::now() + delay;
  std::unique_lock lock(mutex);
  // A stop cuts the wait short only once its deadline comes: until then it is worth retrying.
  // The limit is worked out again on every wake-up: a stop asked during the wait brings its
  // deadline, which may come before the back-off ends.
  while (!give_up && Clock::now() < until_t && !(stopping && Clock::now() >= deadline))
    wake.wait_until(lock, stopping ? std::min(until_t, deadline) : until_t);
}

void StompPublisher::State::report_drops(bool final) {
  std::int64_t dropped = 0;
  {
    std::lock_guard lock(mutex);
    dropped = counters.dropped;
  }
  auto now = Clock::now();
  if (dropped == dropped_logged || (!final && now - drops_logged_at < kDropLogEvery)) return;
  log.warn("monitoring records dropped", {{"dropped", dropped - dropped_logged},
                                          {"dropped_total", dropped},
                                          {"queue_bound", settings.queue_bound}});
  dropped_logged = dropped;
  drops_logged_at = now;
}

void StompPublisher::State::run() {
  std::map<std::int64_t, Record> inflight;
  int failures = 0;
  bool connected_before = false;
  while (!done()) {
    try {
      StompSettings attempt = settings;
      auto budget = io_budget();
      attempt.connect_timeout_s =
          std::min(settings.connect_timeout_s, static_cast<double>(budget.count()) / 1000.0);
      StompClient client(attempt, budget, &give_up);
      if (connected_before) {
        std::lock_guard lock(mutex);
        ++counters.reconnects;
      }
      if (failures > 0)
        log.info("connected to the monitoring broker",
                 {{"broker", client.where()}, {"failed_attempts", failures}});
      connected_before = true;
      failures = 0;
      session(client, inflight);
      client.disconnect(std::min(Clock::now() + options.io_timeout, stop_deadline()));
    } catch (const StompError& e) {
      requeue(inflight);
      ++failures;
      // Once per episode at warn (error for a refusal an operator must fix); its retries at debug.
      auto level = failures > 1 ? log::Level::debug
                   : e.kind == StompErrorKind::refused || e.kind == StompErrorKind::tls
                       ? log::Level::error
                       : log::Level::warn;
      std::int64_t pending = 0;
      {
        std::lock_guard lock(mutex);
        pending = static_cast<std::int64_t>(queue.size());
      }
      log.log(level, "monitoring broker unavailable",
              {{"error", e.what()},
               {"kind", stomp_error_kind_name(e.kind)},
               {"attempt", failures},
               {"pending", pending}});
      report_drops(false);
      back_off(failures);
    }
  }
  requeue(inflight);
  {
    std::lock_guard lock(mutex);
    counters.dropped += static_cast<std::int64_t>(queue.size());
    queue.clear();
    finished = true;
  }
  ended.notify_all();
}

StompPublisher::StompPublisher(StompSettings settings, log::Logger logger, PublisherOptions options)
    : state_(std::make_shared<State>()) {
  if (settings.host.empty()) throw Error("STOMP publisher: no broker host configured");
  if (settings.queue_bound == 0) throw Error("STOMP publisher: queue_bound must be at least 1");
  if (options.window == 0) options.window = 1;
  state_->settings = std::move(settings);
  state_->log = std::move(logger);
  state_->options = options;
  state_->thread = std::thread([state = state_] { state->run(); });
}

StompPublisher::~StompPublisher() {
  stop(Clock::now() + std::chrono::seconds(1));
}

void StompPublisher::publish(RecordKind kind, std::string json) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return;
    state_->queue.push_back(Record{state_->counters.published++, kind, std::move(json), {}});
    if (state_->queue.size() > state_->settings.queue_bound) {
      state_->queue.pop_front();
      ++state_->counters.dropped;
    }
  }
  state_->wake.notify_one();
}

void StompPublisher::stop(Clock::time_point deadline) {
  std::lock_guard join(state_->join_mutex);
  if (!state_->thread.joinable()) return;
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    state_->deadline = deadline;
  }
  state_->wake.notify_one();
  {
    // An attempt begun before stop() may wait longer than the deadline leaves: past it, the
    // thread is told to give up, which ends any wait within one slice.
    std::unique_lock lock(state_->mutex);
    state_->ended.wait_until(lock, deadline, [&] { return state_->finished; });
  }
  {
    std::lock_guard lock(state_->mutex);
    state_->give_up = true;
  }
  state_->wake.notify_all();
  state_->thread.join();
  state_->report_drops(true);
}

PublisherCounters StompPublisher::counters() const {
  std::lock_guard lock(state_->mutex);
  PublisherCounters c = state_->counters;
  c.pending = static_cast<std::int64_t>(state_->queue.size()) + state_->in_flight;
  return c;
}

}  // namespace pilot::monitor
