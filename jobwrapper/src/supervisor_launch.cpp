// Starting the job: its directory, log and first record, then the payload under the tracking
// configured.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/trace.hpp"
#include "jobwrapper/environment.hpp"
#include "launch_setup.hpp"
#include "supervisor_state.hpp"

namespace pilot::jobwrapper {

namespace {

// The payload's PATH (the last PATH= of its environment), null when it has none.
const char* path_of(const std::vector<std::string>& env) {
  const char* path = nullptr;
  for (const auto& e : env)
    if (e.starts_with("PATH=")) path = e.c_str() + 5;
  return path;
}

// The job's own log: JSON, everything down to debug, in `file` only (not on stderr).
log::Options job_log_options(const std::filesystem::path& file) {
  log::Options lo;
  lo.format = log::Format::json;
  lo.level = log::Level::debug;
  lo.to_stderr = false;
  lo.file = file;
  return lo;
}

// The payload's environment without the job marker: the keeper's own (it adds the marker for the
// payload, and must not be taken for one of the job's processes).
std::vector<std::string> without_marker(const std::vector<std::string>& env) {
  std::vector<std::string> out;
  const std::string prefix = std::string(kMarkerVariable) + "=";
  for (const auto& e : env)
    if (!e.starts_with(prefix)) out.push_back(e);
  return out;
}

}  // namespace

void Supervisor::State::start() {
  trace::Phase timed("job.start");
  prepare_job_directory();
  write_prepared_record();
  Command cmd;
  if (auto why = resolve_command(cmd)) return launch_failed(*why);
  if (auto why = setup_tracking()) return launch_failed(*why);
  launch(std::move(cmd));
}

void Supervisor::State::prepare_job_directory() {
  std::error_code ec;
  std::filesystem::create_directories(spec.workdir, ec);
  if (ec) throw Error("cannot create job directory " + spec.workdir.string() + ": " + ec.message());
  spec.workdir = std::filesystem::absolute(spec.workdir);
  joblog = log::Logger(log::make_sink(job_log_options(spec.workdir / kJobLogName)), "jobwrapper");
}

void Supervisor::State::write_prepared_record() {
  rec.job_id = spec.job_id;
  rec.argv = spec.argv;
  rec.workdir = spec.workdir.string();
  rec.marker = make_marker();
  rec.pilot_pid = ::getpid();
  rec.prepared_at = utc_now();
  rec.state = JobState::prepared;
  rec.stdout_log.path = spec.stdout_name;
  rec.stderr_log.path = spec.stderr_name;
  save_job_record(spec.workdir, rec);  // an unwritable job directory is the caller's error
  make_reserve();
}

std::optional<std::string> Supervisor::State::resolve_command(Command& cmd) const {
  if (spec.argv.empty()) return "empty command";
  try {
    cmd.env = build_environment(current_environment(), spec.env, rec.marker);
  } catch (const Error& e) {
    return e.what();
  }
  auto exe = find_executable(spec.argv[0], path_of(cmd.env));
  if (!exe) return "executable not found: " + spec.argv[0];
  cmd.exe = *exe;
  cmd.args.assign(spec.argv.begin() + 1, spec.argv.end());
  return std::nullopt;
}

std::optional<std::string> Supervisor::State::setup_tracking() {
  rec.tracking = "proc";
  if (spec.tracking == Tracking::proc) return std::nullopt;
  trace::Phase timed("job.cgroup");
  std::string why;
  try {
    if (auto place = find_own_cgroup_place(spec.cgroup_root, spec.proc_root)) {
      cgroup.emplace(*place, "pilot-job-" + rec.marker);
      rec.tracking = cgroup->describe();
      return std::nullopt;
    }
    why = "no writable cgroup below the pilot's own under " + spec.cgroup_root.string();
  } catch (const std::exception& e) {
    why = e.what();
  }
  if (spec.tracking == Tracking::cgroup) return "cgroup tracking requested but unavailable: " + why;
  note(log::Level::debug, "tracking the payload through /proc", {{"why", why}});
  return std::nullopt;
}

// The keeper's answer (whether the payload runs) is awaited on the io_context: another job's
// events are not held up while this one's payload is forked, moved into its cgroup and exec'd.
void Supervisor::State::launch(Command cmd) {
  keeper_spawned_at = Clock::now();
  if (auto why = spawn(cmd)) return launch_refused(std::move(cmd), *why);
  starting = true;
  await_keeper_answer(std::make_shared<Command>(std::move(cmd)));
}

void Supervisor::State::await_keeper_answer(std::shared_ptr<Command> cmd) {
  if (auto line = take_control_line()) return keeper_answered(std::move(*cmd), *line);
  auto self = weak_from_this();
  control.async_read_some(asio::buffer(control_chunk),
                          [self, cmd](boost::system::error_code ec, std::size_t n) {
                            auto s = self.lock();
                            // Not starting any more: abandoned meanwhile, which read the answer
                            // itself.
                            if (!s || !s->starting || ec == asio::error::operation_aborted) return;
                            s->control_lines.append(s->control_chunk.data(), n);
                            if (!ec) return s->await_keeper_answer(cmd);
                            // It ended, or closed its end: whatever it said before.
                            auto said = std::move(s->control_lines);
                            s->control_lines.clear();
                            s->keeper_answered(std::move(*cmd), said);
                          });
}

void Supervisor::State::keeper_answered(Command cmd, const std::string& first) {
  starting = false;
  trace::add("job.keeper_start", Clock::now() - keeper_spawned_at);
  auto msg = parse_keeper_message(first);
  if (msg && msg->kind == KeeperMessage::Kind::started) {
    pid = msg->pid;
    return payload_running();
  }
  launch_refused(std::move(cmd), keeper_failure(first, msg));
}

void Supervisor::State::launch_refused(Command cmd, const std::string& why) {
  if (cgroup && spec.tracking == Tracking::automatic && !payload_started_unseen) {
    // A cgroup that looked writable may still refuse the move (delegation rules): /proc
    // tracking is the fallback, not a reason to lose the job.
    note(log::Level::warn, "launch into the job cgroup failed; retrying with /proc tracking",
         {{"error", why}, {"cgroup", cgroup->dir().string()}});
    cgroup.reset();
    rec.tracking = "proc";
    return launch(std::move(cmd));
  }
  launch_failed(why);
}

void Supervisor::State::payload_running() {
  mark_running();
  start_watching();
  if (hooks.on_started && wrapper) hooks.on_started(*wrapper);
  if (deferred_stop && !finished) {
    auto [reason, detail] = std::move(*deferred_stop);
    deferred_stop.reset();
    begin_stop(reason, detail);
  }
}

KeeperRequest Supervisor::State::keeper_request(const Command& cmd) const {
  KeeperRequest k;
  k.workdir = spec.workdir;
  k.marker = rec.marker;
  k.tracking = rec.tracking;
  k.stdout_name = spec.stdout_name;
  k.stderr_name = spec.stderr_name;
  k.log_cap_bytes = spec.log_cap_bytes;
  k.peek_lines = spec.peek_lines;
  k.compress_logs = spec.compress_logs;
  k.exe = cmd.exe;
  k.args = cmd.args;
  return k;
}

std::optional<std::string> Supervisor::State::spawn(const Command& cmd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return "cannot create the keeper's control pipe";
  UniqueFd control_w(fds[1]);
  control.assign(fds[0]);
  auto keeper = keeper_executable();
  try {
    process::bp::process proc(ctx, keeper, keeper_arguments(keeper_request(cmd)),
                              process::bp::process_stdio{nullptr, control_w.get(), nullptr},
                              process::bp::process_environment(without_marker(cmd.env)),
                              process::bp::process_start_dir(spec.workdir),
                              process::NewProcessGroup{true}, ResetSignals{},
                              process::CloseInheritedFds{});
    keeper_pid = proc.id();
    proc.detach();
  } catch (const std::exception& e) {
    boost::system::error_code ignored;
    control.close(ignored);
    return "cannot start the payload's keeper " + keeper.string() + ": " + e.what();
  }
  control_w = UniqueFd();  // from now on the pipe's end of file is the keeper's
  return std::nullopt;
}

std::string Supervisor::State::keeper_failure(const std::string& first,
                                              const std::optional<KeeperMessage>& msg) {
  // It exits at once after a failure: reaped here, so that no zombie is left.
  int status = 0;
  ::waitpid(keeper_pid, &status, 0);
  keeper_pid = 0;
  boost::system::error_code ignored;
  control.close(ignored);
  if (msg && msg->kind == KeeperMessage::Kind::failed) return msg->why;
  std::string why = "the payload's keeper ended (status " + std::to_string(status) +
                    ") before saying whether it started it (" +
                    (first.empty() ? std::string("no word from it") : "said '" + first + "'") +
                    "; see " + (spec.workdir / kKeeperLogName).string() + ")";
  return why + stop_unseen_payload();
}

std::string Supervisor::State::stop_unseen_payload() {
  std::optional<KeeperRecord> k;
  try {
    k = load_keeper_record(spec.workdir);
  } catch (const std::exception&) {
    return "";  // it died before writing it: before starting the payload
  }
  if (!k || k->marker != rec.marker || k->payload_pid <= 1) return "";
  // Started, but no one can wait for it now: it must not run beside a second attempt.
  payload_started_unseen = true;
  ProcessTree t(spec.proc_root, k->payload_pid, std::string(kMarkerVariable) + "=" + rec.marker,
                cgroup ? &*cgroup : nullptr);
  ::kill(-k->payload_pid, SIGKILL);
  auto n = t.signal_all(SIGKILL);
  return "; its payload (pid " + std::to_string(k->payload_pid) + ") had started and was killed (" +
         std::to_string(n) + " processes)";
}

std::string Supervisor::State::first_control_line() {
  for (;;) {
    if (auto line = take_control_line()) return *line;
    // A plain read (asio made the descriptor non-blocking: waited for with poll); another
    // job's SIGCHLD interrupts it.
    ssize_t n = ::read(control.native_handle(), control_chunk.data(), control_chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{control.native_handle(), POLLIN, 0};
      ::poll(&p, 1, -1);
      continue;
    }
    if (n <= 0) return std::exchange(control_lines, std::string());  // what it said, if anything
    control_lines.append(control_chunk.data(), static_cast<std::size_t>(n));
  }
}

void Supervisor::State::finish_start_now() {
  starting = false;
  auto first = first_control_line();
  auto msg = parse_keeper_message(first);
  if (msg && msg->kind == KeeperMessage::Kind::started) {
    pid = msg->pid;
    mark_running();
    return;
  }
  launch_failed(keeper_failure(first, msg));
}

void Supervisor::State::mark_running() {
  start_time = Clock::now();
  start_epoch = epoch_now();
  started = true;
  tree = std::make_unique<ProcessTree>(spec.proc_root, pid,
                                       std::string(kMarkerVariable) + "=" + rec.marker,
                                       cgroup ? &*cgroup : nullptr);
  rec.pid = pid;
  rec.keeper_pid = keeper_pid;
  rec.started_at = utc_now();
  rec.state = JobState::running;
  save();
  note(log::Level::info, "payload started",
       {{"pid", pid},
        {"keeper_pid", keeper_pid},
        {"command", spec.argv[0]},
        {"workdir", rec.workdir},
        {"tracking", rec.tracking}});
}

void Supervisor::State::launch_failed(const std::string& why) {
  note(log::Level::error, "payload not started", {{"error", why}});
  rec.error = why;
  rec.outcome = Outcome::launch_failed;
  finish_record();
}

}  // namespace pilot::jobwrapper
