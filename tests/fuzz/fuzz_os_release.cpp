// os-release, redhat-release and lsb-release parsing (platform/): never throws; the OS id
// normalises and compares without surprises, whatever the names.

#include "fuzz_target.hpp"
#include "platform/os_id.hpp"

using namespace pilot::platform;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = pilot::fuzz::as_text(data, size);
  for (auto parse : {parse_os_release, parse_system_release, parse_lsb_release}) {
    OsRelease r = parse(in);
    std::string id = r.id();
    std::string normal = normal_name(id, os_aliases());
    FUZZ_CHECK(normal_name(normal, os_aliases()) == normal, normal);
    (void)check_compatibility(normal, "el9", os_compatibility());
    (void)check_compatibility("el9", normal, os_compatibility());
  }
  return 0;
}
