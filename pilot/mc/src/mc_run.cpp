#include "mc/mc_run.hpp"

namespace pilot::mc {
namespace jw = pilot::jobwrapper;

McRun::McRun(jw::JobSpec& spec, const McOptions& options, log::Logger logger)
    : job_(prepare_mc(spec, options)),
      cpu_limit_s_(spec.watchdog.cpu_limit_s),
      grace_s_(spec.grace_s),
      poll_s_(spec.watchdog.poll_s),
      log_(std::move(logger)) {}

McRun::McRun(const jw::JobSpec& spec, const jw::JobRecord& record, log::Logger logger)
    : job_(mc_job_from_record(record)),
      cpu_limit_s_(spec.watchdog.cpu_limit_s),
      grace_s_(spec.grace_s),
      poll_s_(spec.watchdog.poll_s),
      log_(std::move(logger)) {}

void McRun::install(jw::Hooks& hooks, StopBySource stop_by) {
  stop_by_ = std::move(stop_by);
  auto previous = std::move(hooks.on_poll);
  hooks.on_poll = [this, previous](jw::Supervisor& sup, const jw::TreeUsage& usage) {
    on_poll(sup, usage);
    if (previous) previous(sup, usage);
  };
}

void McRun::on_poll(jw::Supervisor& sup, const jw::TreeUsage& usage) {
  mirror_checkpoint(sup, job_, log_);
  if (auto d = stop_by_ ? stop_by_() : std::nullopt; d && stop_before(sup, *d, grace_s_, poll_s_))
    return;
  if (auto why = cpu_limit_stop(cpu_rate_, usage.cpu_s(), cpu_limit_s_, grace_s_, poll_s_))
    sup.request_stop(*why);
}

bool McRun::stop_before(jw::Supervisor& sup, const StopBy& d, double grace_s,
                        double period_s) const {
  if (sup.finished() || !time_to_stop(d, grace_s, period_s)) return false;
  sup.request_stop(d.source + " approaching: stopping at an event boundary");
  return true;
}

McResult McRun::finish(jw::Supervisor& sup) {
  mirror_checkpoint(sup, job_, log_);
  auto r = collect_mc(sup.record(), job_.stop_signal, job_.summary_file);
  store_result(sup.record(), r);
  sup.save_record();
  return r;
}

}  // namespace pilot::mc
