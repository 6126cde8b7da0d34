// The keeper process (keeper.hpp): starts the payload, carries its streams into the job
// directory, records its end, relays stop requests. Single-threaded, no event library: poll()
// on the two pipes and a signalfd.

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/trace.hpp"
#include "core/zstd_file.hpp"
#include "jobwrapper/capped_output.hpp"
#include "jobwrapper/job_spec.hpp"
#include "jobwrapper/keeper.hpp"

extern char** environ;

namespace pilot::jobwrapper {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::array<int, 6> kRelayed{SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
constexpr auto kPeekEvery = std::chrono::seconds(1);

// The keeper's own messages: keeper.log in the job directory (its stderr is the null device, as
// the pilot's may be a pipe that dies with it).
class KeeperLog {
 public:
  explicit KeeperLog(const std::filesystem::path& workdir) : path_(workdir / kKeeperLogName) {}
  // Opened at the first line: a job whose keeper has nothing to say gets no file.
  void line(const std::string& text) {
    if (!fd_)
      fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!fd_) return;
    std::string l = utc_now() + " keeper " + std::to_string(::getpid()) + ": " + text + "\n";
    [[maybe_unused]] auto n = ::write(fd_.get(), l.data(), l.size());
  }

 private:
  std::filesystem::path path_;
  UniqueFd fd_;
};

// The control pipe to the supervisor (stdout). A supervisor that is gone makes writes fail with
// EPIPE (SIGPIPE is ignored): from then on nothing is sent.
class Control {
 public:
  void send(const std::string& line) {
    if (gone_) return;
    std::string l = line + "\n";
    if (::write(STDOUT_FILENO, l.data(), l.size()) != static_cast<ssize_t>(l.size())) gone_ = true;
  }
  void close() {
    int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDOUT_FILENO);
      ::close(null);
    }
    gone_ = true;
  }

 private:
  bool gone_ = false;
};

std::vector<std::string> args_of(int argc, char** argv) {
  std::vector<std::string> a;
  for (int i = 2; i < argc; ++i) a.emplace_back(argv[i]);  // after "<binary> keep"
  return a;
}

// The payload's environment: the keeper's own plus the marker that tags the job's processes.
std::vector<std::string> payload_environment(const std::string& marker) {
  std::vector<std::string> env;
  const std::string prefix = std::string(kMarkerVariable) + "=";
  for (char** e = environ; e && *e; ++e)
    if (!std::string_view(*e).starts_with(prefix)) env.emplace_back(*e);
  env.push_back(prefix + marker);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> p;
  for (auto& s : v) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

// The cgroup.procs of the job cgroup the payload joins, -1 for /proc tracking.
UniqueFd open_join_fd(const std::string& tracking) {
  if (!tracking.starts_with("cgroup2 ") && !tracking.starts_with("cgroup1 ")) return UniqueFd();
  auto procs = std::filesystem::path(tracking.substr(8)) / "cgroup.procs";
  UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_errno("cannot open " + procs.string(), errno);
  return fd;
}

struct Pipe {
  UniqueFd r, w;
};

Pipe make_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, flags) != 0) throw_errno("cannot create a pipe", errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// The forked child's failure at `step` (launch_step), with errno, on the report pipe.
[[noreturn]] void child_failed(int report, int step) {
  int e[2] = {step, errno};
  [[maybe_unused]] auto n = ::write(report, e, sizeof e);
  ::_exit(127);
}

// In the forked child: system calls only. Reports errno on `report` when exec fails.
[[noreturn]] void exec_payload(const KeeperRequest& rq, char* const* argv, char* const* envp,
                               int out_w, int err_w, int join_fd, int report) {
  auto fail = [report](int step) { child_failed(report, step); };
  // Its own session, as a job's: a signal to -pid reaches everything it starts, and no terminal.
  if (::setsid() < 0) fail(1);
  if (join_fd >= 0 && ::write(join_fd, "0", 1) != 1) fail(2);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int null = ::open("/dev/null", O_RDONLY);
  if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out_w, 1) < 0 || ::dup2(err_w, 2) < 0) fail(3);
  if (::chdir(rq.workdir.c_str()) != 0) fail(4);
  // What the pilot's libraries opened without close-on-exec must not reach the payload; the
  // report pipe is close-on-exec already.
  if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) != 0)
    for (int fd = 3; fd < 65536; ++fd)
      if (fd != report) ::close(fd);
  ::execve(rq.exe.c_str(), argv, envp);
  child_failed(report, 5);
}

std::string launch_step(int step) {
  switch (step) {
    case 1:
      return "cannot create its session";
    case 2:
      return "cannot join the job cgroup";
    case 3:
      return "cannot set up its standard streams";
    case 4:
      return "cannot enter the job directory";
    default:
      return "cannot execute it";
  }
}

struct Stream {
  UniqueFd fd;
  std::unique_ptr<CappedOutput> sink;
  bool open() const { return static_cast<bool>(fd); }
};

class Keeper {
 public:
  Keeper(KeeperRequest rq, KeeperLog& log) : rq_(std::move(rq)), log_(log) {}

  int run() {
    {
      trace::Phase timed("keeper.start");
      block_signals();
      if (!start_payload()) return 127;
    }
    payload_start_ = Clock::now();
    while (out_.open() || err_.open() || !ended_) step();
    trace::Phase timed("keeper.close");
    close_streams();
    return 0;
  }

 private:
  void block_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (int s : kRelayed) sigaddset(&set, s);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    sigfd_ = UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sigfd_) throw_errno("keeper: cannot create a signalfd", errno);
    ::signal(SIGPIPE, SIG_IGN);
  }

  bool start_payload() {
    std::string why;
    try {
      why = spawn();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (!why.empty()) {
      log_.line("payload not started: " + why);
      control_.send("failed " + why);
      return false;
    }
    rec_.keeper_pid = ::getpid();
    rec_.payload_pid = pid_;
    rec_.marker = rq_.marker;
    rec_.started_at = utc_now();
    save();
    control_.send("started " + std::to_string(pid_));
    return true;
  }

  // Empty on success, else why the payload could not be started.
  std::string spawn() {
    out_.sink = std::make_unique<CappedOutput>(rq_.workdir / rq_.stdout_name, rq_.log_cap_bytes,
                                               rq_.peek_lines);
    err_.sink = std::make_unique<CappedOutput>(rq_.workdir / rq_.stderr_name, rq_.log_cap_bytes, 0);
    auto out = make_pipe(O_CLOEXEC | O_NONBLOCK);
    auto err = make_pipe(O_CLOEXEC | O_NONBLOCK);
    auto report = make_pipe(O_CLOEXEC);
    auto join = open_join_fd(rq_.tracking);
    auto env = payload_environment(rq_.marker);
    std::vector<std::string> argv{rq_.exe.string()};
    argv.insert(argv.end(), rq_.args.begin(), rq_.args.end());
    auto c_argv = c_strings(argv);
    auto c_env = c_strings(env);
    // The child's ends must not be non-blocking: the flag is on the open file, shared with it.
    ::fcntl(out.w.get(), F_SETFL, 0);
    ::fcntl(err.w.get(), F_SETFL, 0);
    pid_t pid = ::fork();
    if (pid < 0) return std::string("cannot fork: ") + std::strerror(errno);
    if (pid == 0)
      exec_payload(rq_, c_argv.data(), c_env.data(), out.w.get(), err.w.get(), join.get(),
                   report.w.get());
    report.w = UniqueFd();
    int e[2] = {0, 0};
    ssize_t n;
    do n = ::read(report.r.get(), e, sizeof e);
    while (n < 0 && errno == EINTR);
    if (n == sizeof e) {
      ::waitpid(pid, nullptr, 0);
      return launch_step(e[0]) + ": " + rq_.exe.string() + ": " + std::strerror(e[1]);
    }
    pid_ = pid;
    out_.fd = std::move(out.r);
    err_.fd = std::move(err.r);
    return "";
  }

  void step() {
    std::array<pollfd, 3> fds{{{sigfd_.get(), POLLIN, 0},
                               {out_.fd ? out_.fd.get() : -1, POLLIN, 0},
                               {err_.fd ? err_.fd.get() : -1, POLLIN, 0}}};
    int timeout = peek_dirty_ ? 1000 : -1;
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) throw_errno("keeper: poll failed", errno);
    if (fds[1].revents) drain(out_);
    if (fds[2].revents) drain(err_);
    if (fds[0].revents) handle_signals();
    if (peek_dirty_ && Clock::now() - last_peek_ >= kPeekEvery) write_peek();
  }

  void drain(Stream& s) {
    std::array<char, 65536> buf;
    for (;;) {
      ssize_t n = ::read(s.fd.get(), buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        s.fd = UniqueFd();
        return;
      }
      if (!store_failed_) {
        try {
          s.sink->append(std::string_view(buf.data(), static_cast<std::size_t>(n)));
          if (&s == &out_) peek_dirty_ = true;
        } catch (const std::exception& e) {
          // Keep draining so the payload never blocks on a full pipe; the loss is recorded.
          store_failed_ = true;
          rec_.error = std::string("payload output lost: ") + e.what();
          log_.line(rec_.error);
        }
      }
    }
  }

  void handle_signals() {
    signalfd_siginfo si;
    while (::read(sigfd_.get(), &si, sizeof si) == sizeof si) {
      int sig = static_cast<int>(si.ssi_signo);
      if (sig == SIGCHLD) {
        reap();
      } else if (!ended_) {
        ::kill(-pid_, sig);
        log_.line("relayed signal " + std::to_string(sig) + " from pid " +
                  std::to_string(si.ssi_pid) + " to the payload's group");
      } else if (sig == SIGTERM) {
        log_.line("asked to stop waiting for the payload's streams");
        out_.fd = UniqueFd();
        err_.fd = UniqueFd();
      }
    }
  }

  void reap() {
    if (ended_) return;
    int status = 0;
    struct rusage ru {};
    if (::wait4(pid_, &status, WNOHANG, &ru) != pid_) return;
    ended_ = true;
    trace::add("keeper.payload", Clock::now() - payload_start_);
    trace::Phase timed("keeper.record_end");
    if (WIFEXITED(status)) rec_.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) rec_.signal = WTERMSIG(status);
    auto secs = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; };
    rec_.cpu_user_seconds = secs(ru.ru_utime);
    rec_.cpu_system_seconds = secs(ru.ru_stime);
    rec_.max_rss_bytes = static_cast<std::uint64_t>(ru.ru_maxrss) * 1024;
    rec_.ended_at = utc_now();
    rec_.state = KeeperState::payload_ended;
    save();
    control_.send("ended");
  }

  void write_peek() {
    peek_dirty_ = false;
    last_peek_ = Clock::now();
    auto path = keeper_peek_path(rq_.workdir, rq_.stdout_name);
    auto tmp = path;
    tmp += ".tmp";
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    auto text = out_.sink->peek();
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return;  // heartbeats go without the last lines: not worth the job's record
    ::rename(tmp.c_str(), path.c_str());
  }

  void close_streams() {
    if (peek_dirty_) write_peek();
    finish_stream(*out_.sink, rec_.stdout_log);
    finish_stream(*err_.sink, rec_.stderr_log);
    rec_.state = KeeperState::closed;
    rec_.closed_at = utc_now();
    save();
    control_.send("closed");
  }

  void finish_stream(CappedOutput& o, StreamRecord& r) {
    r.path = o.path().filename().string();
    try {
      o.finish();
      r.bytes = o.total_bytes();
      r.dropped_bytes = o.dropped_bytes();
      if (rq_.compress_logs) {
        trace::Phase timed("keeper.compress");
        r.path = compress_file_zstd(o.path()).filename().string();
      }
    } catch (const std::exception& e) {
      log_.line(std::string("cannot finalise payload output: ") + e.what());
      if (rec_.error.empty()) rec_.error = std::string("payload output: ") + e.what();
    }
  }

  void save() {
    try {
      save_keeper_record(rq_.workdir, rec_);
    } catch (const std::exception& e) {
      // The keeper carries on: the payload's streams matter more than this write, and whoever
      // reads the record falls back on job.json.
      log_.line(std::string("cannot write the keeper record: ") + e.what());
    }
  }

  KeeperRequest rq_;
  KeeperLog& log_;
  Control control_;
  KeeperRecord rec_;
  UniqueFd sigfd_;
  Stream out_, err_;
  pid_t pid_ = 0;
  bool ended_ = false;
  bool store_failed_ = false;
  bool peek_dirty_ = false;
  Clock::time_point last_peek_{};
  Clock::time_point payload_start_{};
};

}  // namespace

int keeper_main(int argc, char** argv) {
  // A fault injected into the pilot is the pilot's: the keeper must not die of the same count.
  ::unsetenv("PILOT_FAILPOINT");
  trace::set_process("keep");
  KeeperRequest rq;
  try {
    rq = parse_keeper_arguments(args_of(argc, argv));
  } catch (const Error& e) {
    Control().send(std::string("failed ") + e.what());
    return 2;
  }
  KeeperLog log(rq.workdir);
  Control control;
  try {
    Keeper keeper(std::move(rq), log);
    return keeper.run();
  } catch (const std::exception& e) {
    log.line(std::string("keeper failed: ") + e.what());
    control.send(std::string("failed ") + e.what());
    return 1;
  }
}

}  // namespace pilot::jobwrapper
