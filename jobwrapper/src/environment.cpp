#include "jobwrapper/environment.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>

#include "core/error.hpp"

extern char** environ;

namespace pilot::jobwrapper {
namespace {

std::string_view key_of(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

void check_key(const std::string& key) {
  if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos)
    throw Error("invalid environment variable name '" + key + "'");
}

bool is_credential(std::string_view key) {
  return std::find(kCredentialVariables.begin(), kCredentialVariables.end(), key) !=
         kCredentialVariables.end();
}

}  // namespace

std::vector<std::string> build_environment(const std::vector<std::string>& parent,
                                           const EnvPolicy& policy, std::string_view marker) {
  for (const auto& k : policy.unset) check_key(k);
  for (const auto& [k, v] : policy.set) {
    check_key(k);
    if (v.find('\0') != std::string::npos)
      throw Error("environment variable " + k + " holds a NUL byte");
  }
  std::vector<std::string> env;
  if (policy.inherit) {
    for (const auto& e : parent) {
      auto key = key_of(e);
      if (key.empty() || key.size() == e.size()) continue;  // not KEY=VALUE
      if (!policy.pass_credentials && is_credential(key)) continue;
      if (key == kMarkerVariable) continue;  // a pilot inside a job gets its own marker
      if (std::find(policy.unset.begin(), policy.unset.end(), key) != policy.unset.end()) continue;
      if (policy.set.count(std::string(key))) continue;
      env.push_back(e);
    }
  }
  for (const auto& [k, v] : policy.set) env.push_back(k + "=" + v);
  env.push_back(std::string(kMarkerVariable) + "=" + std::string(marker));
  return env;
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
  return env;
}

std::string make_marker() {
  unsigned char bytes[8] = {};
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("getrandom for the job marker", errno);
    }
    got += static_cast<std::size_t>(n);
  }
  std::string out = std::to_string(::getpid()) + "-";
  char hex[3];
  for (auto b : bytes) {
    std::snprintf(hex, sizeof hex, "%02x", b);
    out += hex;
  }
  return out;
}

std::optional<pid_t> marker_pilot(std::string_view marker) {
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(marker.data(), marker.data() + marker.size(), pid);
  if (ec != std::errc() || p == marker.data() + marker.size() || *p != '-' || pid <= 0)
    return std::nullopt;
  return pid;
}

}  // namespace pilot::jobwrapper
