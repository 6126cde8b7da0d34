#include "platform/containers.hpp"

#include <unistd.h>

#include <climits>

#include "core/error.hpp"
#include "core/run_command.hpp"
#include "text.hpp"

namespace pilot::platform {

std::vector<ContainerImage> lhcb_container_images(const std::filesystem::path& root,
                                                  std::string_view machine) {
  const std::string arch = machine == "aarch64" ? "arm64v8" : "amd64";
  static constexpr std::pair<const char*, const char*> kImages[] = {
      {"slc6-devel", "sl6"}, {"centos7-devel", "sl7"}, {"alma9-devel", "el9"}};
  std::vector<ContainerImage> out;
  for (const auto& [dir, os] : kImages) {
    auto path = root / "cvmfs/lhcb.cern.ch/containers/os-base" / dir / "prod" / arch;
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) out.push_back({path.string(), os});
  }
  return out;
}

std::vector<RuntimeImages> check_container_runtimes(const std::filesystem::path& root,
                                                    const std::vector<ContainerImage>& images,
                                                    std::chrono::milliseconds timeout) {
  std::vector<RuntimeImages> out{{"apptainer", {}}, {"singularity", {}}};
  if (images.empty()) return out;
  char buf[PATH_MAX];
  if (!::getcwd(buf, sizeof buf)) return out;  // no working directory to compare with
  std::string cwd = buf;
  auto cvmfs = (root / "cvmfs").lexically_normal().string();
  if (cvmfs.size() > 1 && cvmfs.back() == '/') cvmfs.pop_back();
  std::string bind_cvmfs = cvmfs == "/cvmfs" ? cvmfs : cvmfs + ":/cvmfs";
  CommandOptions o;
  o.timeout = timeout;
  o.set_env["PWD"] = cwd;
  for (auto& runtime : out) {
    for (const auto& image : images) {
      try {
        auto r = run_command({runtime.runtime, "--silent", "exec", "--bind", bind_cvmfs, "--bind",
                              cwd, "--userns", "--cwd", cwd, image.path, "pwd"},
                             o);
        if (!r) break;  // not installed
        if (r->ok() &&
            std::filesystem::path(std::string(text::strip(r->out))).lexically_normal() == cwd)
          runtime.usable.push_back(image);
      } catch (const Error&) {
        break;  // installed but cannot be started
      }
    }
  }
  return out;
}

}  // namespace pilot::platform
