#include "farm.hpp"

#include <algorithm>

#include "farmsim/simulation.hpp"

namespace pilot::farmsim {

namespace {

// The random streams of a seed: one each for the jobs, the start times and the Matcher, and one
// per pilot after them, so that a policy's requests never shift the jobs or the starts.
constexpr std::uint64_t kJobsStream = 0;
constexpr std::uint64_t kStartsStream = 1;
constexpr std::uint64_t kServiceStream = 2;
constexpr std::uint64_t kFirstPilotStream = 3;

agent::LoopLimits loop_limits(const PolicySettings& settings, int processors) {
  agent::LoopLimits l = settings.loop;
  l.processors = processors;  // the pool rule: failed matches allowed >= the node's slots
  return l;
}

}  // namespace

PilotState::PilotState(const PolicySettings& settings, int processors, std::uint64_t seed)
    : pacing(settings.pacing, seed), loop(loop_limits(settings, processors)) {
  slots.total_processors = processors;
}

Farm::Farm(const Scenario& s, Policy policy)
    : s_(s),
      settings_(s.settings(policy)),
      multi_processor_(s.multi_processor()),
      jobs_(make_jobs(s, derive_seed(s.seed, kJobsStream))),
      backlog_(jobs_),
      matcher_(s.matcher_workers, ServiceTime{s.service_dist, s.service_s, s.service_cv},
               derive_seed(s.seed, kServiceStream)),
      rec_(s) {}

void Farm::start_pilots() {
  Random random(derive_seed(s_.seed, kStartsStream));
  std::vector<double> starts(static_cast<std::size_t>(s_.nodes));
  for (auto& t : starts) t = random.uniform(0, s_.start_within_s);
  // t = 0 is the first pilot's start.
  double first = *std::min_element(starts.begin(), starts.end());
  pilots_.reserve(starts.size());
  for (std::size_t i = 0; i < starts.size(); ++i) {
    pilots_.emplace_back(settings_, s_.slots_per_node, derive_seed(s_.seed, kFirstPilotStream + i));
    wake(static_cast<int>(i), pilots_.back().pacing.start(starts[i] - first));
  }
}

void Farm::dispatch(const Event& e) {
  switch (e.kind) {
    case EventKind::pilot_wake:
      // A later wake-up replaced by an earlier one is stale.
      if (e.t != pilots_[e.a].wake_at) return;
      pilots_[e.a].wake_at = std::numeric_limits<double>::infinity();
      return try_send(e.a);
    case EventKind::service_done:
      return service_done(e.a);
    case EventKind::client_timeout:
      return client_timeout(e.a);
    case EventKind::job_end:
      return job_end(e.a, e.b);
    case EventKind::job_return:
      return job_return(e.a);
    case EventKind::outage_start:
      return outage_start();
    case EventKind::outage_end:
      return matcher_.come_up();
  }
}

void Farm::in_service(std::optional<Started> started) {
  if (started) events_.push(started->done_at, EventKind::service_done, started->request);
  rec_.busy_workers(now_, matcher_.busy());
}

void Farm::service_done(int request) {
  Request& r = requests_[request];
  if (!r.held) return;  // failed by the outage while in service
  r.held = false;
  rec_.served(now_);
  auto job = backlog_.take(r.offered);
  in_service(matcher_.finish(request, now_));
  if (r.pilot_waiting) return answer(request, job);
  if (!job) return;
  ++rec_.counts().lost_to_timeouts;
  events_.push(now_ + s_.matched_reschedule_s, EventKind::job_return, *job);
}

void Farm::client_timeout(int request) {
  if (!requests_[request].pilot_waiting) return;
  ++rec_.counts().timeouts;
  fail(request);
}

void Farm::job_end(int pilot, int job) {
  auto& p = pilots_[pilot];
  p.slots.release(std::to_string(job));
  add_busy_slots(-jobs_[job].processors);
  wake(pilot, std::max(now_, p.pacing.next_at()));
}

void Farm::job_return(int job) {
  backlog_.put_back(job);
  ++rec_.counts().jobs_returned;
}

void Farm::outage_start() {
  for (int request : matcher_.go_down()) {
    requests_[request].held = false;
    if (requests_[request].pilot_waiting) fail(request);
  }
  rec_.busy_workers(now_, matcher_.busy());
}

void Farm::add_busy_slots(int processors) {
  busy_slots_ += processors;
  rec_.busy_slots(now_, busy_slots_);
}

Summary Farm::run() {
  start_pilots();
  if (s_.outage) {
    events_.push(s_.outage->start_s, EventKind::outage_start);
    events_.push(s_.outage->end_s(), EventKind::outage_end);
  }
  while (!events_.empty() && events_.top().t <= s_.duration_s) {
    Event e = events_.pop();
    now_ = e.t;
    dispatch(e);
  }
  rec_.finish();
  return summarise(s_, rec_);
}

Summary simulate(const Scenario& s, Policy policy) {
  validate(s);
  return Farm(s, policy).run();
}

}  // namespace pilot::farmsim
