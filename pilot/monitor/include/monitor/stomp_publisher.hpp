#pragma once
// Publishes monitoring records to a STOMP broker from a thread of its own, so that the agent's
// event loop and heart-beats never wait for the broker (issue 19).
//
// publish() only queues. The queue is bounded: when it is full the oldest record goes, counted
// in `dropped`. The thread connects (StompClient), sends each record with a receipt and keeps it
// until the broker confirms it; a broken, refused or silent connection is dropped and opened
// again after an exponential back-off with jitter, and whatever was sent but not confirmed is
// sent again first. Delivery is therefore at least once: a consumer may see a record twice
// (each carries the same body both times), never a confirmed one lost. Losses and connection
// troubles are logged with counts, once per episode, never once per record.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/log.hpp"
#include "monitor/stomp_client.hpp"

namespace pilot::monitor {

// Which of StompSettings' destinations a record goes to.
enum class RecordKind { job, pilot };
const char* record_kind_name(RecordKind kind);

struct PublisherCounters {
  std::int64_t published = 0;   // accepted by publish()
  std::int64_t confirmed = 0;   // the broker sent the receipt (a re-sent record counts once)
  std::int64_t dropped = 0;     // pushed out of the full queue, or left when stop() returned
  std::int64_t reconnects = 0;  // connections opened after the first
  std::int64_t pending = 0;     // queued or sent and not yet confirmed
};

struct PublisherOptions {
  std::chrono::milliseconds io_timeout{5000};  // per write, and for each receipt
  std::chrono::milliseconds backoff_min{500};  // the first retry's delay; doubles each failure
  std::chrono::milliseconds backoff_max{30000};
  std::size_t window = 100;  // records sent ahead of their receipts
};

class StompPublisher {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the thread; it connects in the background, so an unreachable broker is no error
  // here. Throws pilot::Error for settings that can never work (no host, queue_bound 0).
  StompPublisher(StompSettings settings, log::Logger logger, PublisherOptions options = {});
  // stop(now + 1 s) if stop() was not called.
  ~StompPublisher();
  StompPublisher(const StompPublisher&) = delete;
  StompPublisher& operator=(const StompPublisher&) = delete;

  // Queues one record (a JSON text) for its kind's destination; never waits for the broker or
  // the thread beyond a short lock. Ignored after stop().
  void publish(RecordKind kind, std::string json);

  // Sends what it can until everything is confirmed or `deadline` comes, then disconnects and
  // ends the thread; returns by the deadline (plus one I/O slice of at most 100 ms). What is
  // left is counted as dropped and logged. Idempotent.
  void stop(Clock::time_point deadline);

  PublisherCounters counters() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The delay before retry number `failures` (1: the first): backoff_min doubled each time up to
// backoff_max, then scaled by `jitter` in [0.5, 1] so that the pilots of a farm a broker left
// all at once do not come back all at once. Pure, for the tests.
std::chrono::milliseconds backoff_delay(const PublisherOptions& options, int failures,
                                        double jitter);

}  // namespace pilot::monitor
