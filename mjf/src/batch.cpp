#include "mjf/batch.hpp"

#include <unistd.h>

#include <array>
#include <filesystem>

#include "batch_providers.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "core/run_command.hpp"
#include "mjf/batch_parsers.hpp"
#include "mjf/value.hpp"

namespace pilot::mjf {
namespace detail {

std::optional<std::string> env_value(const Environment& env, std::string_view name) {
  auto it = env.find(name);
  if (it == env.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

namespace {}  // namespace

std::optional<std::string> run_helper(const std::vector<std::string>& argv, const Environment& env,
                                      const BatchQuery& query, BatchLimits& limits) {
  auto path = env_value(env, "PATH");
  auto exe = find_executable(argv.front(), path ? path->c_str() : nullptr);
  if (!exe) {
    limits.problems.push_back("`" + argv.front() + "` is not in PATH");
    return std::nullopt;
  }
  std::vector<std::string> args = argv;
  args.front() = exe->string();
  CommandOptions options;
  options.timeout = query.timeout;
  options.set_env = std::map<std::string, std::string>(env.begin(), env.end());
  options.max_output = 256 * 1024;
  try {
    auto r = run_command(args, options);
    if (!r) {
      limits.problems.push_back("`" + argv.front() + "` is not in PATH");
      return std::nullopt;
    }
    if (!r->ok()) {
      std::string msg = describe(argv, *r);
      auto err = r->err.substr(0, 200);
      while (!err.empty() && (err.back() == '\n' || err.back() == '\r')) err.pop_back();
      if (!err.empty()) msg += ": " + err;
      limits.problems.push_back(msg);
      return std::nullopt;
    }
    return std::move(r->out);
  } catch (const std::exception& e) {
    limits.problems.push_back(e.what());
    return std::nullopt;
  }
}

std::optional<std::string> read_env_file(const Environment& env, std::string_view var,
                                         std::vector<std::string>& problems) {
  auto path = env_value(env, var);
  if (!path) return std::nullopt;
  try {
    auto text = read_file(*path, 1 << 20);
    if (!text) problems.push_back(std::string(var) + "=" + *path + ": no such file");
    return text;
  } catch (const std::exception& e) {
    problems.push_back(std::string(var) + ": " + e.what());
    return std::nullopt;
  }
}

}  // namespace detail

Environment environment_of(char** envp) {
  Environment env;
  for (char** e = envp; e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

std::span<const BatchProvider> batch_providers() {
  static const std::array<BatchProvider, 5> providers = {detail::kSlurm, detail::kHtcondor,
                                                         detail::kPbs, detail::kLsf, detail::kSge};
  return providers;
}

std::optional<BatchJob> detect_batch_job(const Environment& env) {
  for (const auto& p : batch_providers())
    if (auto id = p.job_id(env)) return BatchJob{std::string(p.name), *id};
  return std::nullopt;
}

BatchLimits query_batch_limits(const BatchJob& job, const Environment& env,
                               const BatchQuery& query) {
  for (const auto& p : batch_providers())
    if (p.name == job.system) return p.limits(job.job_id, env, query);
  BatchLimits none;
  none.problems.push_back("unknown batch system '" + job.system + "'");
  return none;
}

std::optional<EnvProcessors> processors_from_environment(const Environment& env) {
  auto positive = [](std::string_view text) -> std::optional<std::int64_t> {
    auto v = parse_integer(text);
    if (v && *v > 0) return v;
    return std::nullopt;
  };
  std::vector<std::string> ignored;
  if (auto ad = detail::read_env_file(env, "_CONDOR_MACHINE_AD", ignored)) {
    auto kv = parse_classad(*ad);
    if (auto it = kv.find("cpus"); it != kv.end())
      if (auto n = positive(it->second)) return EnvProcessors{*n, "_CONDOR_MACHINE_AD Cpus"};
  }
  for (std::string_view var : {"PBS_NUM_PPN", "PBS_NP"})
    if (auto v = detail::env_value(env, var))
      if (auto n = positive(*v)) return EnvProcessors{*n, std::string(var)};
  // "host1 4 host2 4": the first host runs the job script.
  if (auto v = detail::env_value(env, "LSB_MCPU_HOSTS")) {
    std::string_view s = *v;
    auto first = s.find_first_not_of(' ');
    auto host_end = s.find(' ', first);
    if (host_end != std::string_view::npos) {
      auto rest = s.substr(host_end);
      auto count = rest.substr(0, rest.find(' ', rest.find_first_not_of(' ')));
      if (auto n = positive(count)) return EnvProcessors{*n, "LSB_MCPU_HOSTS"};
    }
  }
  for (std::string_view var :
       {"SLURM_CPUS_ON_NODE", "SLURM_CPUS_PER_TASK", "SLURM_JOB_CPUS_PER_NODE"}) {
    auto v = detail::env_value(env, var);
    if (!v) continue;
    // SLURM_JOB_CPUS_PER_NODE looks like "8", "8(x2)" or "4,2": the first node's count.
    std::string_view s = *v;
    if (var == "SLURM_JOB_CPUS_PER_NODE") s = s.substr(0, s.find_first_of("(,"));
    if (auto n = positive(s)) return EnvProcessors{*n, std::string(var)};
  }
  if (auto v = detail::env_value(env, "NSLOTS"))
    if (auto n = positive(*v)) return EnvProcessors{*n, "NSLOTS"};
  return std::nullopt;
}

}  // namespace pilot::mjf
