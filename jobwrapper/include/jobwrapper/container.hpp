#pragma once
// Running a payload inside a container: apptainer or singularity when the node has one (LHCb's
// way: `exec --contain --ipc --userns --bind /cvmfs`), bubblewrap as the always-available
// fallback. The job directory and /cvmfs are bound; the pilot's own credentials and work area
// are not visible inside. The result is an argv prefix, so supervision (process group, stop
// signal, tree tracking) is the same with or without a container.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace pilot::jobwrapper {

enum class ContainerRuntime { none, apptainer, singularity, bubblewrap };
const char* runtime_name(ContainerRuntime r);
// "none", "apptainer", "singularity", "bubblewrap" (or "bwrap"), "auto" -> nullopt for auto.
// Throws pilot::Error for anything else.
std::optional<ContainerRuntime> parse_runtime(const std::string& text);

struct ContainerSpec {
  ContainerRuntime runtime = ContainerRuntime::none;
  std::filesystem::path executable;  // apptainer/singularity/bwrap binary
  std::string image;                 // apptainer/singularity image (directory or .sif)
  std::filesystem::path workdir;     // the job directory: bound read-write, the payload's cwd
  std::vector<std::filesystem::path> binds;  // read-only, e.g. /cvmfs (skipped if missing)
  // Paths the payload must not see: files are masked with an empty file, directories with an
  // empty tmpfs (the job directory is bound again on top if it lies inside one).
  std::vector<std::filesystem::path> hide;
};

// The argv that runs `argv` inside the container. Throws pilot::Error when the spec cannot
// work (no executable, no image for apptainer/singularity, relative job directory).
std::vector<std::string> container_argv(const ContainerSpec& spec,
                                        const std::vector<std::string>& argv);

// The runtime to use for `wanted` (nullopt: the best available): apptainer, then singularity,
// from PATH or the given CVMFS locations, else bubblewrap from PATH. nullopt: none usable.
struct FoundRuntime {
  ContainerRuntime runtime;
  std::filesystem::path executable;
};
std::optional<FoundRuntime> find_runtime(std::optional<ContainerRuntime> wanted,
                                         const std::vector<std::filesystem::path>& extra_dirs = {});

}  // namespace pilot::jobwrapper
