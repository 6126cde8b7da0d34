#include "job_file_names.hpp"

#include <algorithm>

#include "iequals.hpp"
#include "jobs/job_description.hpp"

namespace pilot::jobs {

std::string input_file_name(std::string_view entry) {
  auto slash = entry.rfind('/');
  return std::string(slash == std::string_view::npos ? entry : entry.substr(slash + 1));
}

}  // namespace pilot::jobs

namespace pilot::jobs::detail {
namespace {

bool has_dotdot_component(std::string_view p) {
  std::size_t start = 0;
  for (;;) {
    auto end = p.find('/', start);
    if (p.substr(start, end == std::string_view::npos ? end : end - start) == "..") return true;
    if (end == std::string_view::npos) return false;
    start = end + 1;
  }
}

bool has_control_character(std::string_view p) {
  return std::any_of(p.begin(), p.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Problems any path has, wherever it points.
std::optional<std::string> common_problem(std::string_view p) {
  if (p.empty()) return "is empty";
  if (has_control_character(p)) return "contains a control character";
  if (has_dotdot_component(p)) return "contains a '..' component";
  return std::nullopt;
}

}  // namespace

std::optional<std::string> job_path_problem(std::string_view name) {
  if (auto p = common_problem(name)) return p;
  if (name.front() == '/') return "is an absolute path";
  if (name.front() == '~') return "starts with '~'";
  return std::nullopt;
}

std::optional<std::string> input_sandbox_problem(std::string_view entry) {
  auto prefixed = [&](std::string_view prefix) {
    return entry.size() >= prefix.size() && iequals(entry.substr(0, prefix.size()), prefix);
  };
  if (prefixed("SB:")) {
    auto rest = entry.substr(3);
    auto bar = rest.find('|');
    if (bar == std::string_view::npos || bar == 0 || bar + 1 == rest.size())
      return std::string("is not a sandbox reference SB:<storage element>|<path>");
    if (auto p = common_problem(rest.substr(bar + 1))) return p;
    if (has_control_character(rest.substr(0, bar))) return "contains a control character";
    return std::nullopt;
  }
  if (prefixed("LFN:")) {
    auto p = common_problem(entry.substr(4));
    return p ? std::optional<std::string>("LFN " + *p) : std::nullopt;
  }
  // A local file of the submitter (WMSClient keeps its name, absolute or relative, next to the
  // SB: reference of the sandbox that carries it): only its last component names a file here.
  if (has_control_character(entry)) return "contains a control character";
  auto name = input_file_name(entry);
  if (name.empty() || name == "." || name == "..")
    return "names no file (its last component is '" + name + "')";
  return std::nullopt;
}

}  // namespace pilot::jobs::detail
