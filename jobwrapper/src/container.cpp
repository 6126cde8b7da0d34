#include "jobwrapper/container.hpp"

#include <cstdlib>

#include "core/error.hpp"
#include "core/find_executable.hpp"

namespace pilot::jobwrapper {
namespace fs = std::filesystem;

const char* runtime_name(ContainerRuntime r) {
  switch (r) {
    case ContainerRuntime::none:
      return "none";
    case ContainerRuntime::apptainer:
      return "apptainer";
    case ContainerRuntime::singularity:
      return "singularity";
    case ContainerRuntime::bubblewrap:
      return "bubblewrap";
  }
  return "?";
}

std::optional<ContainerRuntime> parse_runtime(const std::string& t) {
  if (t == "none") return ContainerRuntime::none;
  if (t == "apptainer") return ContainerRuntime::apptainer;
  if (t == "singularity") return ContainerRuntime::singularity;
  if (t == "bubblewrap" || t == "bwrap") return ContainerRuntime::bubblewrap;
  if (t == "auto") return std::nullopt;
  throw Error("unknown container runtime '" + t +
              "' (auto, apptainer, singularity, bubblewrap, none)");
}

std::vector<std::string> container_argv(const ContainerSpec& s,
                                        const std::vector<std::string>& argv) {
  if (s.runtime == ContainerRuntime::none) return argv;
  if (s.executable.empty())
    throw Error(std::string("no executable for the container runtime ") + runtime_name(s.runtime));
  if (!s.workdir.is_absolute())
    throw Error("the job directory must be absolute for a container: " + s.workdir.string());
  std::error_code ec;
  std::vector<std::string> out{s.executable.string()};
  if (s.runtime == ContainerRuntime::bubblewrap) {
    // No new session or PID namespace: the payload stays in the process group the job wrapper
    // signals, and its processes stay visible to the tree tracking.
    out.insert(out.end(),
               {"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"});
    for (const auto& h : s.hide) {
      if (fs::is_directory(h, ec))
        out.insert(out.end(), {"--tmpfs", h.string()});
      else if (fs::exists(h, ec))
        out.insert(out.end(), {"--ro-bind", "/dev/null", h.string()});
    }
    for (const auto& b : s.binds)
      if (fs::exists(b, ec)) out.insert(out.end(), {"--ro-bind", b.string(), b.string()});
    // Last, so it shows through any hidden parent directory (e.g. the pilot's work area).
    out.insert(out.end(), {"--bind", s.workdir.string(), s.workdir.string(), "--chdir",
                           s.workdir.string(), "--"});
  } else {
    if (s.image.empty()) throw Error(std::string("no image for ") + runtime_name(s.runtime));
    // --contain: private /tmp and home, so the pilot's /tmp/x509up_u* is not there.
    out.insert(out.end(), {"--silent", "exec", "--contain", "--ipc", "--userns"});
    for (const auto& b : s.binds)
      if (fs::exists(b, ec)) out.insert(out.end(), {"--bind", b.string()});
    out.insert(out.end(), {"--bind", s.workdir.string(), "--pwd", s.workdir.string(), s.image});
  }
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::optional<FoundRuntime> find_runtime(std::optional<ContainerRuntime> wanted,
                                         const std::vector<fs::path>& extra_dirs) {
  auto look = [&](const char* name) -> std::optional<fs::path> {
    std::error_code ec;
    for (const auto& d : extra_dirs)
      if (fs::is_regular_file(d / name, ec)) return d / name;
    return find_executable(name, std::getenv("PATH"));
  };
  std::vector<std::pair<ContainerRuntime, const char*>> order = {
      {ContainerRuntime::apptainer, "apptainer"},
      {ContainerRuntime::singularity, "singularity"},
      {ContainerRuntime::bubblewrap, "bwrap"}};
  for (auto [rt, name] : order) {
    if (wanted && *wanted != rt) continue;
    if (auto p = look(name)) return FoundRuntime{rt, *p};
  }
  return std::nullopt;
}

}  // namespace pilot::jobwrapper
