// Starting the job: its directory, log and first record, then the payload under the tracking
// configured.

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/find_executable.hpp"
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

// The read end goes to `p`; the returned write end is for the payload.
UniqueFd pipe_into(asio::readable_pipe& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("cannot create a pipe for the payload", errno);
  p.assign(fds[0]);
  return UniqueFd(fds[1]);
}

}  // namespace

void Supervisor::State::start() {
  prepare_job_directory();
  write_prepared_record();
  open_payload_outputs();
  Command cmd;
  if (auto why = resolve_command(cmd)) return launch_failed(*why);
  if (auto why = setup_tracking()) return launch_failed(*why);
  // Our write ends close when start() returns: from then on the pipes' end of file is the
  // payload's.
  PayloadPipes pipes = open_payload_pipes();
  if (auto why = launch(cmd, pipes)) return launch_failed(*why);
  mark_running();
  start_watching();
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

void Supervisor::State::open_payload_outputs() {
  out = std::make_unique<CappedOutput>(spec.workdir / spec.stdout_name, spec.log_cap_bytes,
                                       spec.peek_lines);
  err = std::make_unique<CappedOutput>(spec.workdir / spec.stderr_name, spec.log_cap_bytes,
                                       spec.peek_lines);
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

auto Supervisor::State::open_payload_pipes() -> PayloadPipes {
  return {pipe_into(out_pipe), pipe_into(err_pipe)};
}

std::optional<std::string> Supervisor::State::launch(const Command& cmd,
                                                     const PayloadPipes& pipes) {
  auto failure = spawn(cmd, pipes);
  if (failure && cgroup && spec.tracking == Tracking::automatic) {
    // A cgroup that looked writable may still refuse the move (delegation rules): /proc
    // tracking is the fallback, not a reason to lose the job.
    note(log::Level::warn, "launch into the job cgroup failed; retrying with /proc tracking",
         {{"error", *failure}, {"cgroup", cgroup->dir().string()}});
    cgroup.reset();
    rec.tracking = "proc";
    failure = spawn(cmd, pipes);
  }
  return failure;
}

std::optional<std::string> Supervisor::State::spawn(const Command& cmd, const PayloadPipes& pipes) {
  try {
    UniqueFd join_fd(cgroup ? cgroup->open_procs_for_join() : -1);
    process::bp::process proc(
        ctx, cmd.exe, cmd.args,
        process::bp::process_stdio{nullptr, pipes.out_w.get(), pipes.err_w.get()},
        process::bp::process_environment(cmd.env), process::bp::process_start_dir(spec.workdir),
        process::NewProcessGroup{true}, JoinCgroup{join_fd.get()}, ResetSignals{},
        process::CloseInheritedFds{});
    pid = proc.id();
    proc.detach();
    return std::nullopt;
  } catch (const std::exception& e) {
    return "cannot start " + cmd.exe.string() + ": " + e.what();
  }
}

void Supervisor::State::mark_running() {
  start_time = Clock::now();
  start_epoch = epoch_now();
  started = true;
  out_eof = err_eof = false;
  tree = std::make_unique<ProcessTree>(spec.proc_root, pid,
                                       std::string(kMarkerVariable) + "=" + rec.marker,
                                       cgroup ? &*cgroup : nullptr);
  rec.pid = pid;
  rec.started_at = utc_now();
  rec.state = JobState::running;
  save();
  note(log::Level::info, "payload started",
       {{"pid", pid},
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
