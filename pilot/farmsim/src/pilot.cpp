// What one pilot does: ask when its pacing, its free processors and its stop rules allow, and
// act on the answer, as the agent's job loop does (agent_requests.cpp).

#include <algorithm>
#include <string>

#include "farm.hpp"

namespace pilot::farmsim {

using agent::RequestOutcome;

void Farm::wake(int pilot, double t) {
  auto& p = pilots_[pilot];
  if (p.stopped || t >= p.wake_at) return;
  p.wake_at = t;
  events_.push(t, EventKind::pilot_wake, pilot);
}

// The processors a new request offers: the free ones, less one for each request still out (each
// of those brings at most one job, and a job takes at least one processor).
int Farm::offer(const PilotState& p) const {
  int free = p.slots.free_processors();
  if (multi_processor_) {
    // The agent tries its plans in turn; one Matcher call stands for them, offering the first
    // plan's processors. A 1-processor job fits any plan, so without larger ones this is moot.
    auto plans = agent::request_plans(p.slots);
    free = plans.empty() ? 0 : plans.front().processors;
  }
  return free - p.pacing.in_flight();
}

void Farm::try_send(int pilot) {
  auto& p = pilots_[pilot];
  if (p.stopped) return;
  int offered = offer(p);
  if (offered < 1) return;  // a job's end or an answer wakes it
  if (p.pacing.in_flight() >= p.pacing.limits().max_in_flight) return;  // so does an answer
  if (!p.pacing.may_send(now_)) return wake(pilot, p.pacing.next_at());
  if (auto reason = p.loop.before_request(std::nullopt); reason != agent::StopReason::none)
    return stop(p, reason);
  send(pilot, offered);
  if (p.pacing.in_flight() < p.pacing.limits().max_in_flight)
    wake(pilot, std::max(now_, p.pacing.next_at()));
}

void Farm::stop(PilotState& p, agent::StopReason reason) {
  p.stopped = true;
  ++rec_.counts().stopped[reason];
}

void Farm::send(int pilot, int offered) {
  int request = static_cast<int>(requests_.size());
  requests_.push_back(Request{pilot, offered, now_});
  pilots_[pilot].pacing.sent(now_);
  rec_.sent(now_);
  if (!matcher_.up()) {
    // Connection refused: the answer is immediate.
    ++rec_.counts().refused;
    requests_[request].held = false;
    return fail(request);
  }
  events_.push(now_ + s_.client_timeout_s, EventKind::client_timeout, request);
  in_service(matcher_.arrive(request, now_));
}

void Farm::fail(int request) {
  Request& r = requests_[request];
  r.pilot_waiting = false;
  rec_.latency(now_ - r.sent_s);
  pace(r.pilot, RequestOutcome::error);
}

void Farm::answer(int request, std::optional<int> match) {
  Request& r = requests_[request];
  r.pilot_waiting = false;
  rec_.latency(now_ - r.sent_s);
  if (!match) return pace(r.pilot, RequestOutcome::no_match);
  int job = *match;
  if (!pilots_[r.pilot].slots.fits(jobs_[job].processors, 0)) {
    // Answers to earlier requests took the processors this one offered: the pilot hands it back.
    ++rec_.counts().declined;
    backlog_.put_back(job);
    return pace(r.pilot, RequestOutcome::no_match);
  }
  take_job(r.pilot, job);
  pace(r.pilot, RequestOutcome::match);
}

void Farm::take_job(int pilot, int job) {
  const Job& j = jobs_[job];
  pilots_[pilot].slots.take(std::to_string(job), j.processors, 0);
  ++rec_.counts().matches;
  add_busy_slots(j.processors);
  events_.push(now_ + j.length_s, EventKind::job_end, pilot, job);
}

void Farm::pace(int pilot, RequestOutcome outcome) {
  auto& p = pilots_[pilot];
  if (outcome == RequestOutcome::match)
    p.loop.on_match();
  else if (outcome == RequestOutcome::no_match ||
           p.pacing.limits().kind == agent::PacingKind::dirac)
    p.loop.on_no_match();  // DIRAC's JobAgent counts an error as a failed match
  else
    p.loop.on_host_failure();
  wake(pilot, std::max(now_, p.pacing.answered(outcome, now_)));
}

}  // namespace pilot::farmsim
