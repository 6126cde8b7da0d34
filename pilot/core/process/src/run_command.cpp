#include "core/run_command.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <cstring>
#include <functional>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "core/process_v2.hpp"

extern char** environ;

namespace pilot {
namespace {

using process::asio::readable_pipe;

struct Reader {
  readable_pipe pipe;
  std::string& sink;
  std::size_t max;
  std::function<void()> on_eof;
  std::array<char, 8192> buf{};
  bool done = false;

  void start() {
    pipe.async_read_some(process::asio::buffer(buf),
                         [this](boost::system::error_code ec, std::size_t n) {
                           if (n > 0 && sink.size() < max)
                             sink.append(buf.data(), std::min(n, max - sink.size()));
                           if (!ec) return start();
                           done = true;
                           on_eof();
                         });
  }
};

std::vector<std::string> build_env(const std::map<std::string, std::string>& set, bool inherit) {
  std::vector<std::string> env;
  for (char** e = environ; inherit && e && *e; ++e) {
    std::string_view kv(*e);
    auto key = kv.substr(0, kv.find('='));
    if (!set.count(std::string(key))) env.emplace_back(kv);
  }
  for (const auto& [k, v] : set) env.push_back(k + "=" + v);
  return env;
}

// A name without '/' is looked up in PATH; nullopt: there is no such command.
std::optional<std::filesystem::path> find_command(const std::string& name) {
  if (name.find('/') == std::string::npos) return find_executable(name, std::getenv("PATH"));
  if (::access(name.c_str(), F_OK) != 0) return std::nullopt;
  return std::filesystem::path(name);
}

// Our own pipes, so that stdout and stderr can share one when merged.
UniqueFd pipe_into(Reader& r, const std::filesystem::path& exe) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("cannot create a pipe for " + exe.string(), errno);
  r.pipe.assign(fds[0]);
  return UniqueFd(fds[1]);
}

process::bp::process start_process(process::asio::io_context& ctx, const std::filesystem::path& exe,
                                   const std::vector<std::string>& args,
                                   const std::vector<std::string>& env, int out_fd, int err_fd) {
  try {
    return process::bp::process(ctx, exe, args, process::bp::process_stdio{nullptr, out_fd, err_fd},
                                process::bp::process_environment(env), process::NewProcessGroup{},
                                process::CloseInheritedFds{});
  } catch (const boost::system::system_error& e) {
    throw Error("cannot start " + exe.string() + ": " + e.what());
  }
}

void kill_on_timeout(process::asio::steady_timer& timer, pid_t pid, bool& timed_out) {
  timer.async_wait([&timed_out, pid](boost::system::error_code tec) {
    if (tec) return;
    timed_out = true;
    ::kill(-pid, SIGKILL);
  });
}

// Something the command started in the background may keep the pipes open: read what is
// already there, then stop listening.
void close_pipes_soon(process::asio::steady_timer& timer, Reader& out, Reader& err) {
  timer.cancel();
  timer.expires_after(std::chrono::milliseconds(500));
  timer.async_wait([&out, &err](boost::system::error_code) {
    boost::system::error_code ignored;
    out.pipe.close(ignored);
    err.pipe.close(ignored);
  });
}

void record_exit(CommandResult& result, int native_status) {
  if (WIFEXITED(native_status)) {
    result.exit_code = WEXITSTATUS(native_status);
  } else if (WIFSIGNALED(native_status)) {
    result.signal = WTERMSIG(native_status);
  }
}

}  // namespace

std::optional<CommandResult> run_command(const std::vector<std::string>& argv,
                                         const CommandOptions& options) {
  if (argv.empty()) throw Error("run_command: empty command");
  auto found = find_command(argv[0]);
  if (!found) return std::nullopt;
  const std::filesystem::path& exe = *found;

  process::asio::io_context ctx;
  CommandResult result;
  Reader out{readable_pipe(ctx), result.out, options.max_output, {}};
  Reader err{
      readable_pipe(ctx), options.merge_stderr ? result.out : result.err, options.max_output, {}};
  std::vector<std::string> args(argv.begin() + 1, argv.end());
  auto env = build_env(options.set_env, options.inherit_env);

  UniqueFd out_w = pipe_into(out, exe);
  UniqueFd err_w = options.merge_stderr ? UniqueFd() : pipe_into(err, exe);
  process::bp::process proc = start_process(ctx, exe, args, env, out_w.get(),
                                            options.merge_stderr ? out_w.get() : err_w.get());
  out_w = UniqueFd();
  err_w = UniqueFd();
  process::asio::steady_timer timer(ctx, options.timeout);
  bool exited = false;
  auto maybe_finish = [&] {
    if (exited && out.done && err.done) timer.cancel();
  };
  out.on_eof = maybe_finish;
  err.on_eof = maybe_finish;
  out.start();
  if (options.merge_stderr) {
    err.done = true;
  } else {
    err.start();
  }

  kill_on_timeout(timer, proc.id(), result.timed_out);
  int native_status = 0;
  proc.async_wait([&](boost::system::error_code, int) {
    native_status = proc.native_exit_code();
    exited = true;
    if (out.done && err.done) {
      timer.cancel();
      return;
    }
    close_pipes_soon(timer, out, err);
  });
  ctx.run();
  record_exit(result, native_status);
  return result;
}

std::string describe(const std::vector<std::string>& argv, const CommandResult& r) {
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  cmd = "`" + cmd + "`";
  if (r.timed_out) return cmd + " timed out";
  if (!r.exit_code)
    return cmd + " was killed by signal " + std::to_string(r.signal) + " (" + strsignal(r.signal) +
           ")";
  std::string s = cmd + " exited with " + std::to_string(*r.exit_code);
  if (*r.exit_code != 0 && !r.err.empty()) {
    auto first = r.err.substr(0, r.err.find('\n'));
    s += ": " + first.substr(0, 200);
  }
  return s;
}

}  // namespace pilot
