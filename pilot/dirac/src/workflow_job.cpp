#include "dirac/workflow_job.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "core/error.hpp"
#include "core/find_executable.hpp"
#include "core/fs.hpp"
#include "core/signals.hpp"
#include "core/trim.hpp"
#include "dirac/codec.hpp"
#include "jobs/job_description.hpp"

namespace pilot::dirac {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kJobexec = "dirac-jobexec";

// Any name works: the file says which instance each system uses and where that instance is.
constexpr std::string_view kInstance = "Pilot";

std::string python_bool(bool b) {
  return b ? "True" : "False";
}

void add_local_site(CfgSection& root, const LocalSite& s) {
  auto& ls = root.section("LocalSite");
  if (!s.site.empty()) ls.set("Site", s.site);
  if (!s.grid_ce.empty()) ls.set("GridCE", s.grid_ce);
  if (!s.ce_queue.empty()) ls.set("CEQueue", s.ce_queue);
  if (!s.architecture.empty()) ls.set("Architecture", s.architecture);
  if (s.cpu_normalization_factor > 0)
    ls.set("CPUNormalizationFactor", python_float_repr(s.cpu_normalization_factor));
  if (!s.local_se.empty()) ls.set_list("LocalSE", s.local_se);
  ls.set("RemoteExecution", python_bool(s.remote_execution));
}

// With a Setup, a system's URLs are found through /DIRAC/Setups/<setup>/<System> (the instance)
// and /Systems/<System>/<instance>/URLs; without one, directly under /Systems/<System>/URLs.
void add_services(CfgSection& root, const PayloadCfgInputs& in) {
  for (const auto& s : in.services) {
    if (s.urls.empty()) continue;
    auto& system = root.section("Systems").section(s.system);
    auto& urls =
        in.setup.empty() ? system.section("URLs") : system.section(kInstance).section("URLs");
    urls.set_list(s.service, s.urls);
    if (!in.setup.empty())
      root.section("DIRAC").section("Setups").section(in.setup).set(s.system, kInstance);
  }
}

bool is_plain_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("_-./=:,+@%").find(c) != std::string_view::npos;
}

// $NAME and ${NAME} replaced from `env` as Python's os.path.expandvars does: unknown names and
// a lone '$' stay as they are.
std::string expand_vars(std::string_view text, const std::map<std::string, std::string>& env) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    bool braced = i + 1 < text.size() && text[i + 1] == '{';
    auto start = i + (braced ? 2 : 1), end = start;
    while (end < text.size() &&
           (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_'))
      ++end;
    bool closed = !braced || (end < text.size() && text[end] == '}');
    auto it = env.find(std::string(text.substr(start, end - start)));
    if (end == start || !closed || it == env.end()) {
      out += text[i];
      continue;
    }
    out += it->second;
    i = end - (braced ? 0 : 1);
  }
  return out;
}

std::string resolve_executable(std::string_view executable, const DiracRuntime& rt) {
  if (jobs::is_dirac_jobexec(executable)) return rt.jobexec.string();
  auto env = rt.environment;
  env["DIRACROOT"] = rt.diracroot.string();
  auto exe = expand_vars(trim(executable), env);
  if (exe.find('/') != std::string::npos) return exe;
  auto path = rt.environment.find("PATH");
  if (path != rt.environment.end())
    if (auto found = find_executable(exe, path->second.c_str())) return found->string();
  return exe;
}

// What one "KEY=VALUE" environment holds, the last entry of a key winning as in execve.
std::map<std::string, std::string> as_map(const std::vector<std::string>& env) {
  std::map<std::string, std::string> m;
  for (const auto& e : env) {
    auto eq = e.find('=');
    if (eq != std::string::npos) m[e.substr(0, eq)] = e.substr(eq + 1);
  }
  return m;
}

void check_cfg(const std::map<std::string, std::string>& env, std::vector<std::string>& missing) {
  auto it = env.find("DIRACSYSCONFIG");
  if (it == env.end() || it->second.empty()) {
    missing.emplace_back("DIRACSYSCONFIG is not set: the workflow has no DIRAC configuration");
    return;
  }
  auto text = read_file(it->second);
  if (!text) {
    missing.emplace_back("DIRACSYSCONFIG " + it->second + " cannot be read");
    return;
  }
  CfgSection cfg;
  try {
    cfg = parse_cfg(*text, it->second);
  } catch (const Error& e) {
    missing.emplace_back(std::string("DIRACSYSCONFIG is not a DIRAC configuration: ") + e.what());
    return;
  }
  if (!cfg.value_at("/DIRAC/Setup") && cfg.value_at("/DIRAC/NoSetup") != "True")
    missing.emplace_back("DIRACSYSCONFIG " + it->second +
                         " has no /DIRAC/Setup: dirac-jobexec would stop at once");
}

}  // namespace

CfgSection payload_cfg(const PayloadCfgInputs& in) {
  CfgSection root;
  auto& dirac = root.section("DIRAC");
  if (in.setup.empty())
    dirac.set("NoSetup", "True");
  else
    dirac.set("Setup", in.setup);
  if (!in.vo.empty()) dirac.set("VirtualOrganization", in.vo);
  if (!in.configuration_servers.empty())
    dirac.section("Configuration").set_list("Servers", in.configuration_servers);
  auto& security = dirac.section("Security");
  if (!in.ca_location.empty()) security.set("CALocation", in.ca_location.string());
  security.set("UseServerCertificate", "False");
  add_services(root, in);
  add_local_site(root, in.local_site);
  root.merge(in.site_cfg);
  return root;
}

std::string shell_word(std::string_view word) {
  if (!word.empty() && std::all_of(word.begin(), word.end(), is_plain_word_char))
    return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::vector<std::string> workflow_argv(std::string_view executable, std::string_view arguments,
                                       const LocalSite& site, const DiracRuntime& runtime) {
  // exec: the job's main process is the command itself, so a signal that kills it is seen as
  // such (WIFSIGNALED), not as the shell's 128 + signal.
  auto command = "exec " + shell_word(resolve_executable(executable, runtime));
  if (!trim(arguments).empty()) command += " " + std::string(trim(arguments));
  if (jobs::is_dirac_jobexec(executable)) {
    auto option = [&](std::string_view name, const std::string& value) {
      command += " -o " + shell_word("/LocalSite/" + std::string(name) + "=" + value);
    };
    option("CPUNormalizationFactor", python_float_repr(site.cpu_normalization_factor));
    option("Site", site.site);
    option("GridCE", site.grid_ce);
    option("CEQueue", site.ce_queue);
    option("RemoteExecution", python_bool(site.remote_execution));
  }
  return {"/bin/sh", "-c", command};
}

WorkflowEnvironment workflow_environment(const DiracRuntime& runtime, const fs::path& cfg_file,
                                         const fs::path& cert_dir, const fs::path& payload_proxy) {
  WorkflowEnvironment w;
  w.set = runtime.environment;
  for (const auto& name : w.unset) w.set.erase(name);
  w.set["DIRACROOT"] = runtime.diracroot.string();
  w.set["DIRACSYSCONFIG"] = cfg_file.string();
  w.set["X509_CERT_DIR"] = cert_dir.string();
  if (!payload_proxy.empty()) w.set["X509_USER_PROXY"] = payload_proxy.string();
  return w;
}

std::vector<std::string> missing_for_workflow(const std::vector<std::string>& env_entries) {
  auto env = as_map(env_entries);
  std::vector<std::string> missing;
  auto value = [&](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  if (value("JOBID").empty())
    missing.emplace_back("JOBID is not set: the workflow would run as a local job");
  auto proxy = value("X509_USER_PROXY");
  if (proxy.empty())
    missing.emplace_back("X509_USER_PROXY is not set: the workflow has no proxy");
  else if (::access(proxy.c_str(), R_OK) != 0)
    missing.emplace_back("X509_USER_PROXY " + proxy + " cannot be read");
  auto ca = value("X509_CERT_DIR");
  std::error_code ec;
  if (ca.empty() || !fs::is_directory(ca, ec))
    missing.emplace_back("X509_CERT_DIR " +
                         (ca.empty() ? std::string("is not set") : ca + " is not a directory") +
                         ": the workflow finds no CAs");
  auto path = value("PATH");
  if (path.empty() || !find_executable(kJobexec, path.c_str()))
    missing.emplace_back("no dirac-jobexec on the payload's PATH (" + path + ")");
  for (const char* name : {"REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"})
    if (env.count(name))
      missing.emplace_back(std::string(name) + " is set: python-requests would prefer it to " +
                           "the CA directory and refuse every HTTPS service");
  check_cfg(env, missing);
  return missing;
}

std::string jobexec_failure(std::optional<int> exit_code, std::optional<int> signal) {
  if (signal)
    return "dirac-jobexec was killed by " + signal_name(*signal) + ": its steps' state is unknown";
  if (!exit_code || *exit_code == 0) return "";
  int n = *exit_code;
  std::string code = " (dirac-jobexec exit " + std::to_string(n) + ")";
  if (n == 1)
    return "the workflow did not run to its end: a configuration error or an interrupt" + code;
  if (n == 232) return "a workflow step's executable could not be started" + code;
  // A step killed by signal S makes dirac-jobexec exit S: a small number may be either.
  if (n < 65)
    return "the last failing workflow step exited " + std::to_string(n) + " or was killed by " +
           signal_name(n) + code;
  return "the last failing workflow step exited " + std::to_string(n) + code;
}

}  // namespace pilot::dirac
