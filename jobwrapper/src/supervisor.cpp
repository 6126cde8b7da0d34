// The public Supervisor: a handle on the State the supervisor files share (supervisor_state.hpp).
#include "jobwrapper/supervisor.hpp"

#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

Supervisor::Supervisor(process::asio::io_context& ctx, JobSpec spec, Hooks hooks,
                       log::Logger logger)
    : s_(std::make_shared<State>(ctx, std::move(spec), std::move(hooks), std::move(logger))) {
  s_->wrapper = this;
}

Supervisor::~Supervisor() {
  s_->abandon();
}

void Supervisor::start() {
  s_->start();
}

void Supervisor::adopt(JobRecord record) {
  s_->adopt(std::move(record));
}

void Supervisor::request_stop(std::string why) {
  std::weak_ptr<State> w = s_;
  asio::post(s_->ctx, [w, why = std::move(why)] {
    if (auto s = w.lock()) s->begin_stop(Reason::stop_requested, why);
  });
}

bool Supervisor::finished() const {
  return s_->finished;
}
JobRecord& Supervisor::record() {
  return s_->rec;
}
const JobRecord& Supervisor::record() const {
  return s_->rec;
}
void Supervisor::save_record() {
  s_->save();
}
Heartbeat Supervisor::heartbeat() const {
  return s_->heartbeat();
}
pid_t Supervisor::pid() const {
  return s_->pid;
}

JobRecord run_job(JobSpec spec, Hooks hooks, log::Logger logger) {
  asio::io_context ctx;
  Supervisor sup(ctx, std::move(spec), std::move(hooks), std::move(logger));
  sup.start();
  ctx.run();
  return sup.record();
}

}  // namespace pilot::jobwrapper
