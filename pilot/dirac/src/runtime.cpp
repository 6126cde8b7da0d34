#include "dirac/runtime.hpp"

#include <unistd.h>

#include <set>

#include "core/find_executable.hpp"
#include "core/run_command.hpp"
#include "core/signals.hpp"
#include "core/trim.hpp"

namespace pilot::dirac {

namespace {

namespace fs = std::filesystem;

// Sources $1 with the remaining arguments as its own, its output kept off stdout, then prints the
// environment it left with $2 (`env`, resolved before the script could change PATH).
constexpr const char* kSourceThenPrint =
    "s=$1; e=$2; shift 2; . \"$s\" >&2 </dev/null || exit; exec \"$e\" -0";

// The shell keeps these itself; they describe the sourcing shell, not the runtime.
const std::set<std::string, std::less<>> kShellBookkeeping = {"PWD", "OLDPWD", "SHLVL", "_"};

std::map<std::string, std::string> clean_environment(const RuntimeOptions& options) {
  auto env = options.shell_environment;
  env.try_emplace("PATH", std::string(kDefaultPath));
  if (const char* home = std::getenv("HOME")) env.try_emplace("HOME", home);
  if (const char* user = std::getenv("USER")) env.try_emplace("USER", user);
  env.try_emplace("LANG", "C");
  return env;
}

std::string stderr_tail(const std::string& err) {
  auto t = std::string(trim(err));
  constexpr std::size_t keep = 400;
  return t.size() > keep ? "..." + t.substr(t.size() - keep) : t;
}

std::string seconds(std::chrono::milliseconds d) {
  auto s = std::to_string(static_cast<double>(d.count()) / 1000.0);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

CommandResult run_sourcing(const RuntimeSource& source, const RuntimeOptions& options) {
  auto env = clean_environment(options);
  auto shell = find_executable("bash", env["PATH"].c_str()).value_or("/bin/sh");
  auto env_bin = find_executable("env", env["PATH"].c_str());
  if (!env_bin) throw Error(source.describe() + ": no `env` on PATH " + env["PATH"]);
  std::vector<std::string> argv{shell.string(),         "-c",
                                kSourceThenPrint,       "pilot-dirac-runtime",
                                source.script.string(), env_bin->string()};
  argv.insert(argv.end(), source.arguments.begin(), source.arguments.end());
  CommandOptions o;
  o.timeout = options.timeout;
  o.inherit_env = false;
  o.set_env = std::move(env);
  auto r = run_command(argv, o);
  if (!r) throw Error(source.describe() + ": the shell " + shell.string() + " is missing");
  if (r->timed_out)
    throw Error(source.describe() + ": sourcing it did not end within " + seconds(options.timeout) +
                " s");
  if (!r->ok()) {
    auto how = r->exit_code ? "exit status " + std::to_string(*r->exit_code)
                            : "killed by " + signal_name(r->signal);
    auto err = stderr_tail(r->err);
    throw Error(source.describe() + ": sourcing it failed (" + how + ")" +
                (err.empty() ? "" : ": " + err));
  }
  return *r;
}

fs::path find_diracroot(const std::map<std::string, std::string>& env, const fs::path& jobexec) {
  for (const char* name : {"DIRACROOT", "DIRACOS"}) {
    auto it = env.find(name);
    if (it != env.end() && !it->second.empty()) return it->second;
  }
  return jobexec.parent_path().parent_path();
}

}  // namespace

std::string RuntimeSource::describe() const {
  auto s = script.string();
  for (const auto& a : arguments) s += " " + a;
  return s;
}

RuntimeNotFound::RuntimeNotFound(const std::vector<std::string>& tried)
    : Error([&] {
        if (tried.empty()) return std::string("no DIRAC runtime configured (dirac_runtime)");
        std::string m = "no DIRAC runtime found:";
        for (const auto& a : tried) m += "\n  " + a;
        return m;
      }()),
      attempts(tried) {}

std::map<std::string, std::string> parse_env0(const std::string& text) {
  std::map<std::string, std::string> env;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\0', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view entry(text.data() + pos, end - pos);
    auto eq = entry.find('=');
    if (eq != std::string_view::npos && eq > 0)
      env[std::string(entry.substr(0, eq))] = std::string(entry.substr(eq + 1));
    pos = end + 1;
  }
  return env;
}

DiracRuntime source_runtime(const RuntimeSource& source, const RuntimeOptions& options) {
  std::error_code ec;
  if (!fs::is_regular_file(source.script, ec)) throw Error(source.describe() + ": no such file");
  if (::access(source.script.c_str(), R_OK) != 0) throw Error(source.describe() + ": not readable");
  auto r = run_sourcing(source, options);
  DiracRuntime rt{source, parse_env0(r.out), {}, {}};
  for (auto it = rt.environment.begin(); it != rt.environment.end();)
    it = kShellBookkeeping.count(it->first) ? rt.environment.erase(it) : std::next(it);
  auto path = rt.environment.count("PATH") ? rt.environment["PATH"] : std::string();
  if (path.empty()) throw Error(source.describe() + ": it leaves no PATH");
  auto jobexec = find_executable("dirac-jobexec", path.c_str());
  if (!jobexec)
    throw Error(source.describe() + ": no dirac-jobexec on the PATH it sets (" + path + ")");
  rt.jobexec = *jobexec;
  rt.diracroot = find_diracroot(rt.environment, rt.jobexec);
  return rt;
}

DiracRuntime find_runtime(const RuntimeOptions& options) {
  std::vector<std::string> attempts;
  for (const auto& source : options.sources) {
    try {
      return source_runtime(source, options);
    } catch (const Error& e) {
      attempts.emplace_back(e.what());
    }
  }
  throw RuntimeNotFound(attempts);
}

}  // namespace pilot::dirac
