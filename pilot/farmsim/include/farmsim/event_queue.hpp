#pragma once
// The simulator's clock: events in time order, and in the order they were scheduled when two fall
// at the same time, so a run never depends on how the heap breaks ties. Nothing here throws
// (beyond std::bad_alloc).

#include <cstdint>
#include <queue>
#include <vector>

namespace pilot::farmsim {

enum class EventKind {
  pilot_wake,      // a pilot may send its next request (a: pilot)
  service_done,    // a Matcher worker finishes a request (a: request)
  client_timeout,  // a pilot gives up waiting for an answer (a: request)
  job_end,         // a job ends and frees its processors (a: pilot, b: job)
  job_return,      // a job lost to a time-out is back in the backlog (a: job)
  outage_start,
  outage_end,
};
const char* event_kind_name(EventKind k);

struct Event {
  double t = 0;
  std::uint64_t seq = 0;
  EventKind kind = EventKind::pilot_wake;
  int a = 0;
  int b = 0;
};

class EventQueue {
 public:
  void push(double t, EventKind kind, int a = 0, int b = 0);
  bool empty() const { return heap_.empty(); }
  // The earliest event; the queue must not be empty.
  const Event& top() const { return heap_.top(); }
  Event pop();

 private:
  struct Later {
    bool operator()(const Event& x, const Event& y) const {
      return x.t != y.t ? x.t > y.t : x.seq > y.seq;
    }
  };
  std::priority_queue<Event, std::vector<Event>, Later> heap_;
  std::uint64_t next_seq_ = 0;
};

}  // namespace pilot::farmsim
