#include "farmsim/event_queue.hpp"

namespace pilot::farmsim {

const char* event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::pilot_wake:
      return "pilot_wake";
    case EventKind::service_done:
      return "service_done";
    case EventKind::client_timeout:
      return "client_timeout";
    case EventKind::job_end:
      return "job_end";
    case EventKind::job_return:
      return "job_return";
    case EventKind::outage_start:
      return "outage_start";
    case EventKind::outage_end:
      return "outage_end";
  }
  return "?";
}

void EventQueue::push(double t, EventKind kind, int a, int b) {
  heap_.push(Event{t, next_seq_++, kind, a, b});
}

Event EventQueue::pop() {
  Event e = heap_.top();
  heap_.pop();
  return e;
}

}  // namespace pilot::farmsim
