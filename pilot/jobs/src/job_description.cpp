#include "jobs/job_description.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/signals.hpp"
#include "core/trim.hpp"
#include "iequals.hpp"
#include "jdl_lexer.hpp"
#include "job_file_names.hpp"

namespace pilot::jobs {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding (urllib.parse.unquote); malformed sequences stay as they are, as in Python.
std::string url_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    if (s[i] == '%' && i + 2 < s.size() && (hi = hex_digit(s[i + 1])) >= 0 &&
        (lo = hex_digit(s[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool valid_env_name(std::string_view n) {
  if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
  return std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

int processors_value(const Jdl& jdl, std::string_view name, std::string_view source) {
  auto v = jdl_integer(jdl, name);
  if (!v) return 0;
  if (*v < 1 || *v > 100000)
    throw Error(std::string(source) + ": " + std::string(name) + " = " + std::to_string(*v) +
                " is not a number of processors");
  return static_cast<int>(*v);
}

[[noreturn]] void bad_name(std::string_view source, std::string_view what, std::string_view name,
                           const std::string& problem) {
  throw Error(std::string(source) + ": " + std::string(what) + " " +
              detail::quote_for_message(name) + " " + problem +
              " (names must stay inside the job directory)");
}

void check_file_name(std::string_view attribute, const std::string& name, std::string_view source) {
  if (auto p = detail::job_path_problem(name)) bad_name(source, attribute, name, *p);
}

// The names the pilot turns into files: StdOutput and StdError are created by the job wrapper
// directly in the job directory, so they must be plain file names; sandbox entries are paths or
// patterns below it.
void check_file_names(const JobDescription& d, std::string_view source) {
  for (auto [attribute, name] :
       {std::pair{"StdOutput", &d.std_output}, std::pair{"StdError", &d.std_error}}) {
    check_file_name(attribute, *name, source);
    if (name->find('/') != std::string::npos || *name == ".")
      bad_name(source, attribute, *name, "is not a file name");
  }
  for (const auto& e : d.output_sandbox) check_file_name("OutputSandbox entry", e, source);
  for (const auto& e : d.input_sandbox)
    if (auto p = detail::input_sandbox_problem(e)) bad_name(source, "InputSandbox entry", e, *p);
}

}  // namespace

bool JobDescription::whole_node() const {
  return std::any_of(tags.begin(), tags.end(),
                     [](const auto& t) { return detail::iequals(t, "WholeNode"); });
}

JobDescription read_job_description(const Jdl& jdl, std::string_view source) {
  auto fail = [&](const std::string& what) { throw Error(std::string(source) + ": " + what); };
  try {
    JobDescription d;
    d.job_id = jdl_string(jdl, "JobID").value_or("");
    d.job_name = jdl_string(jdl, "JobName").value_or("");
    d.executable = jdl_string(jdl, "Executable").value_or("");
    if (d.executable.empty()) fail("no Executable");
    d.arguments = jdl_string(jdl, "Arguments").value_or("");
    d.input_data = jdl_string_list(jdl, "InputData").value_or(std::vector<std::string>{});
    d.input_sandbox = jdl_string_list(jdl, "InputSandbox").value_or(std::vector<std::string>{});
    d.output_sandbox = jdl_string_list(jdl, "OutputSandbox").value_or(std::vector<std::string>{});
    if (auto s = jdl_string(jdl, "StdOutput"); s && !s->empty()) d.std_output = *s;
    if (auto s = jdl_string(jdl, "StdError"); s && !s->empty()) d.std_error = *s;
    check_file_names(d, source);

    d.cpu_time = jdl_integer(jdl, "CPUTime");
    if (d.cpu_time && *d.cpu_time < 0) fail("negative CPUTime " + std::to_string(*d.cpu_time));

    int n = processors_value(jdl, "NumberOfProcessors", source);
    int lo = processors_value(jdl, "MinNumberOfProcessors", source);
    int hi = processors_value(jdl, "MaxNumberOfProcessors", source);
    d.min_processors = lo ? lo : n ? n : 1;
    d.max_processors = hi ? hi : n ? std::max(n, d.min_processors) : d.min_processors;
    if (d.max_processors < d.min_processors)
      fail("MaxNumberOfProcessors " + std::to_string(d.max_processors) +
           " is below MinNumberOfProcessors " + std::to_string(d.min_processors));

    d.max_ram_mb = jdl_integer(jdl, "MaxRAM");
    if (!d.max_ram_mb) d.max_ram_mb = jdl_integer(jdl, "MinRAM");
    if (d.max_ram_mb && *d.max_ram_mb < 0) fail("negative MaxRAM");

    d.platforms = jdl_string_list(jdl, "Platform").value_or(std::vector<std::string>{});
    d.tags = jdl_string_list(jdl, "Tags").value_or(std::vector<std::string>{});
    for (auto& t : jdl_string_list(jdl, "Tag").value_or(std::vector<std::string>{}))
      if (std::find(d.tags.begin(), d.tags.end(), t) == d.tags.end()) d.tags.push_back(t);
    d.sites = jdl_string_list(jdl, "Site").value_or(std::vector<std::string>{});
    d.banned_sites = jdl_string_list(jdl, "BannedSites").value_or(std::vector<std::string>{});
    for (auto& s : jdl_string_list(jdl, "BannedSite").value_or(std::vector<std::string>{}))
      d.banned_sites.push_back(s);
    d.job_type = jdl_string(jdl, "JobType").value_or("");
    d.job_group = jdl_string(jdl, "JobGroup").value_or("");
    d.owner = jdl_string(jdl, "Owner").value_or("");
    d.owner_group = jdl_string(jdl, "OwnerGroup").value_or("");
    d.priority = jdl_integer(jdl, "Priority").value_or(1);

    d.cpu_e = jdl_real(jdl, "CPUe");
    if (d.cpu_e && *d.cpu_e <= 0) fail("CPUe must be positive");
    d.max_number_of_events = jdl_integer(jdl, "MaxNumberOfEvents");
    if (d.max_number_of_events && *d.max_number_of_events < 0) fail("negative MaxNumberOfEvents");
    d.xml_summary_file = jdl_string(jdl, "XMLSummaryFile").value_or("");
    if (!d.xml_summary_file.empty()) check_file_name("XMLSummaryFile", d.xml_summary_file, source);

    if (const auto* a = jdl.find("StopSignal")) {
      if (a->value.kind == JdlValue::Kind::integer) {
        if (a->value.integer < 1 || a->value.integer > 64)
          fail("StopSignal " + a->value.text + " is not a signal");
        d.stop_signal = static_cast<int>(a->value.integer);
      } else {
        d.stop_signal = parse_signal(*jdl_string(jdl, "StopSignal"));
      }
    }

    for (const auto& item :
         jdl_string_list(jdl, "ExecutionEnvironment").value_or(std::vector<std::string>{})) {
      auto eq = item.find('=');
      std::string name = item.substr(0, eq);
      if (eq == std::string::npos || !valid_env_name(name))
        fail("ExecutionEnvironment item '" + item + "' is not NAME=value");
      d.environment.emplace_back(name, url_decode(std::string_view(item).substr(eq + 1)));
    }
    return d;
  } catch (const Error& e) {
    std::string what = e.what();
    if (what.starts_with(std::string(source) + ":")) throw;
    fail(what);
  }
  throw Error("unreachable");
}

JobDescription parse_job_description(std::string_view text, std::string_view source) {
  return read_job_description(parse_jdl(text, source), source);
}

bool is_dirac_jobexec(std::string_view executable) {
  auto exe = trim(executable);
  return exe == "dirac-jobexec" || exe == "$DIRACROOT/scripts/dirac-jobexec" ||
         exe == "${DIRACROOT}/scripts/dirac-jobexec";
}

bool needs_dirac_runtime(std::string_view executable) {
  auto exe = trim(executable);
  if (is_dirac_jobexec(exe) || exe.find("$DIRACROOT") != std::string_view::npos ||
      exe.find("${DIRACROOT}") != std::string_view::npos)
    return true;
  auto slash = exe.rfind('/');
  return (slash == std::string_view::npos ? exe : exe.substr(slash + 1)).starts_with("dirac-");
}

}  // namespace pilot::jobs
