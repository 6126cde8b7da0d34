// Asking the job source for work: the stop rules before each request, one request per strategy
// that fits the free slots, on the worker thread, paced by the request pacing.

#include <boost/asio/post.hpp>

#include "agent_loop.hpp"
#include "core/trace.hpp"
#include "mjf/local_files.hpp"

namespace pilot::agent {
namespace asio = boost::asio;

StopReason Agent::stop_check(std::string& detail) {
  // The file the MJF watcher watches too (startup): one place says what draining means.
  if (mjf::drain_file_exists(s_.config.drain_file)) {
    detail = s_.config.drain_file.string();
    return StopReason::drain;
  }
  if (lifetime_end_ && Clock::now() >= *lifetime_end_) return StopReason::lifetime;
  std::optional<double> work;
  if (budget_ && budget_->cpu_work_left_hs06s) work = *budget_->cpu_work_left_hs06s;
  return policy_.before_request(work);
}

double Agent::pacing_now() const {
  return std::chrono::duration<double>(Clock::now() - start_).count();
}

Clock::time_point Agent::pacing_time(double t) const {
  return start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(t));
}

void Agent::first_request_after_spread() {
  double now = pacing_now();
  next_request_ = pacing_time(pacing_.start(now));
  if (pacing_.next_at() > now)
    log_.info("first job request after the start-up spread",
              {{"in_s", pacing_.next_at() - now}, {"spread_s", pacing_.limits().start_spread_s}});
}

void Agent::try_request() {
  if (stopping_ || requesting_) return maybe_finish();
  if (waiting_for_own_jobs_) return;  // job_finished calls again
  if (next_request_ > Clock::now()) return wait_for_next_request();
  std::string detail;
  if (auto reason = stop_check(detail); reason != StopReason::none) {
    stop(reason, detail);
    return maybe_finish();
  }
  auto requests = requests_for_free_slots();
  if (requests.empty()) return;  // every processor is busy: a job's end calls again
  requesting_ = true;
  pacing_.sent(pacing_now());
  request_on_worker(std::move(requests));
}

void Agent::wait_for_next_request() {
  request_timer_.expires_at(next_request_);
  request_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) try_request();
  });
}

std::vector<jobs::ResourceRequest> Agent::requests_for_free_slots() const {
  std::vector<jobs::ResourceRequest> requests;
  for (const auto& p : request_plans(slots_)) {
    jobs::ResourceRequest r = s_.base_request;
    r.processors = p.processors;
    r.whole_node = p.whole_node;
    for (const auto& t : p.required_tags) r.required_tags.push_back(t);
    if (budget_ && budget_->cpu_work_left_hs06s)
      r.cpu_work_left_hs06s = static_cast<std::int64_t>(*budget_->cpu_work_left_hs06s);
    if (slots_.total_memory_mb > 0) r.max_ram_mb = slots_.free_memory_mb();
    r.extra["RequestStrategy"] = strategy_name(p.strategy);
    requests.push_back(std::move(r));
  }
  return requests;
}

// The strategies in order until one matches.
void Agent::request_on_worker(std::vector<jobs::ResourceRequest> requests) {
  worker_.post([this, requests = std::move(requests)] {
    trace::Phase timed("agent.request");
    auto began = Clock::now();
    std::optional<jobs::MatchedJob> match;
    std::string error;
    bool refused = false;
    SourceContents contents;
    try {
      for (const auto& r : requests) {
        auto asked = Clock::now();
        match = s_.source->request_job(r);
        if (match) {
          match->match_seconds = std::chrono::duration<double>(Clock::now() - asked).count();
          break;
        }
      }
    } catch (const jobs::SourceRefusesPilot& e) {
      error = e.what();
      refused = true;
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!match && error.empty()) {
      contents.pending = s_.source->has_pending_jobs();
      contents.empty = !contents.pending && s_.source->holds_no_jobs();
    }
    double took = std::chrono::duration<double>(Clock::now() - began).count();
    asio::post(ctx_, [this, match = std::move(match), error, refused, contents, took]() mutable {
      count_request(!error.empty() ? monitor::RequestResult::error
                    : match        ? monitor::RequestResult::match
                                   : monitor::RequestResult::no_match,
                    took);
      on_request_result(std::move(match), error, refused, contents);
    });
  });
}

void Agent::on_request_result(std::optional<jobs::MatchedJob> match, const std::string& error,
                              bool refused, SourceContents contents) {
  requesting_ = false;
  if (refused) {
    log_.error("the server rejects this pilot's version", {{"error", error}});
    stop(StopReason::version_mismatch, error);
    pace(RequestOutcome::error);
  } else if (!error.empty()) {
    policy_.on_host_failure();
    pace(RequestOutcome::error);
    log_.warn("job request failed", {{"error", error},
                                     {"consecutive", policy_.host_failures()},
                                     {"next_request_in_s", seconds_to_next_request()}});
  } else if (!match && contents.empty) {
    // Nothing to wait for: every job of the source is done (the demo's queue once its jobs ran).
    pace(RequestOutcome::nothing_pending);
    log_.info("no job matched: the job source holds none, pending or running",
              {{"source", s_.source->describe()}});
    stop(StopReason::source_empty, s_.source->describe());
  } else if (!match && !contents.pending && !jobs_.empty()) {
    // Only running jobs, this pilot's among them: asking again before one of them ends (and
    // with it, perhaps, the source's last) finds nothing either; not a failed match.
    pace(RequestOutcome::nothing_pending);
    log_.info("no job pending: waiting for this pilot's jobs to end",
              {{"running", static_cast<std::int64_t>(jobs_.size())}});
    waiting_for_own_jobs_ = true;
  } else if (!match) {
    policy_.on_no_match();
    pace(RequestOutcome::no_match);
    log_.info("no job matched", {{"consecutive", policy_.failed_matches()},
                                 {"next_request_in_s", seconds_to_next_request()}});
  } else {
    policy_.on_match();
    pace(RequestOutcome::match);
    start_job(std::move(*match));
  }
  try_request();
}

void Agent::pace(RequestOutcome outcome) {
  next_request_ = pacing_time(pacing_.answered(outcome, pacing_now()));
}

double Agent::seconds_to_next_request() const {
  return std::max(0.0, std::chrono::duration<double>(next_request_ - Clock::now()).count());
}

}  // namespace pilot::agent
