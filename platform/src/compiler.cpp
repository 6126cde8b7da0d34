#include "platform/compiler.hpp"

#include <cctype>

#include "core/error.hpp"
#include "core/run_command.hpp"

namespace pilot::platform {
namespace {

bool digit(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// Matches `(gcc|clang|icc|LLVM) version (\d+)\.(\d+)` at `pos`.
bool match_at(std::string_view s, std::size_t pos, std::string& comp, std::string& major,
              std::string& minor) {
  for (std::string_view name : {"gcc", "clang", "icc", "LLVM"}) {
    if (s.substr(pos, name.size()) != name) continue;
    auto p = pos + name.size();
    constexpr std::string_view kVersion = " version ";
    if (s.substr(p, kVersion.size()) != kVersion) continue;
    p += kVersion.size();
    auto b = p;
    while (p < s.size() && digit(s[p])) ++p;
    if (p == b || p >= s.size() || s[p] != '.') continue;
    auto m = p + 1;
    auto e = m;
    while (e < s.size() && digit(s[e])) ++e;
    if (e == m) continue;
    comp = name == "LLVM" ? "clang" : std::string(name);
    major = std::string(s.substr(b, p - b));
    minor = std::string(s.substr(m, e - m));
    return true;
  }
  return false;
}

}  // namespace

std::string compiler_id_from_output(std::string_view output) {
  std::string comp, major, minor;
  for (std::size_t pos = 0; pos < output.size(); ++pos) {
    if (!match_at(output, pos, comp, major, minor)) continue;
    // Before gcc 7 (and for every clang) the minor version is part of the id.
    bool old_gcc = comp == "gcc" && (major.size() > 2 ? false : std::stoi(major) < 7);
    std::string id = comp;
    id.append(major);
    if (old_gcc || comp == "clang") id.append(minor);
    return id;
  }
  return "unknown";
}

std::string compiler_id(const std::string& cc, std::chrono::milliseconds timeout) {
  CommandOptions o;
  o.timeout = timeout;
  o.merge_stderr = true;
  o.set_env.emplace("LC_ALL", std::string(1, 'C'));
  o.max_output = 256 << 10;
  try {
    auto r = run_command({cc, "-v"}, o);
    if (!r || !r->ok()) return "unknown";
    return compiler_id_from_output(r->out);
  } catch (const Error&) {
    return "unknown";  // exists but cannot be started (not executable, ...)
  }
}

}  // namespace pilot::platform
