#pragma once
// Container runtimes that can run LHCb's OS images from CVMFS, so a host can also run binaries
// of other OSes (LbPlatformUtils' container_technology).

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::platform {

struct ContainerImage {
  std::string path;  // the image directory, under the root
  std::string os;    // the OS id it provides: sl6, sl7, el9
};

// The LHCb os-base images (slc6, centos7, alma9; amd64, or arm64v8 on aarch64) present under
// root/cvmfs, in that order.
std::vector<ContainerImage> lhcb_container_images(const std::filesystem::path& root,
                                                  std::string_view machine);

struct RuntimeImages {
  std::string runtime;                 // "apptainer" or "singularity"
  std::vector<ContainerImage> usable;  // images where the check succeeded
};

// For apptainer, then singularity: the images in which `<exe> --silent exec --bind /cvmfs --bind
// <cwd> --userns --cwd <cwd> <image> pwd` prints the real working directory (with PWD set to
// it, so a symlinked $PWD cannot fool the comparison). A runtime that is absent, fails or hangs
// past `timeout` has no usable images. Nothing is started when there are no images.
std::vector<RuntimeImages> check_container_runtimes(
    const std::filesystem::path& root, const std::vector<ContainerImage>& images,
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace pilot::platform
