#include "jobs/job_info.hpp"

#include <sstream>
#include <vector>

namespace pilot::jobs {

namespace {

std::string without(std::string s, char c) {
  std::erase(s, c);
  return s;
}

// JobAgent._getJDLParameters on a list: braces and quotes dropped, split at white space, a
// trailing comma cut from each piece.
std::vector<std::string> list_items(const std::string& raw) {
  std::istringstream words(without(without(without(raw, '{'), '}'), '"'));
  std::vector<std::string> out;
  for (std::string w; words >> w;) {
    if (w.ends_with(',')) w.pop_back();
    out.push_back(w);
  }
  return out;
}

// The same on any other value: quotes dropped, braces quoted.
std::string scalar(const std::string& raw) {
  std::string out;
  for (char c : without(raw, '"')) {
    if (c == '{')
      out += "\"{";
    else if (c == '}')
      out += "}\"";
    else
      out += c;
  }
  return out;
}

// JobWrapper.__dictAsInfoString on a list.
std::string joined(const std::vector<std::string>& items) {
  const char* sep = !items.empty() && items.front() == "[" ? " " : ", ";
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

}  // namespace

std::string job_info(const Jdl& jdl) {
  std::string out;
  for (const auto& a : jdl.attributes) {
    auto raw = to_jdl_text(a.value);
    auto value = a.value.kind == JdlValue::Kind::list ? joined(list_items(raw)) : scalar(raw);
    out += "/Job/" + a.name + " = " + value + "\n";
  }
  return out;
}

}  // namespace pilot::jobs
