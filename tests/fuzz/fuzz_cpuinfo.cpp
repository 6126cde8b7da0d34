// /proc/cpuinfo parsing (platform/): never throws, for x86 and aarch64 alike; counts stay sane,
// there are flags only from a flags line, and then the machine is one of them.

#include "fuzz_target.hpp"
#include "platform/cpuinfo.hpp"

using pilot::platform::parse_cpuinfo;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = pilot::fuzz::as_text(data, size);
  for (std::string_view machine : {"x86_64", "aarch64", ""}) {
    auto info = parse_cpuinfo(in, machine);
    FUZZ_CHECK(info.logical >= 0, std::to_string(info.logical));
    FUZZ_CHECK(!info.physical || *info.physical >= 0, std::to_string(*info.physical));
    FUZZ_CHECK(info.has_flags_line || info.flags.empty(), "flags without a flags line");
    if (info.has_flags_line && !machine.empty())
      FUZZ_CHECK(info.flags.contains(std::string(machine)), "machine missing from the flags");
    FUZZ_CHECK(!info.model.empty() || in.find("model name") != std::string_view::npos,
               "empty model without a model name line");
  }
  return 0;
}
