#pragma once
// The compiler id of the host (`$CC -v`), as LbPlatformUtils computes it: "gcc11", "gcc48",
// "clang160", "icc18", or "unknown".

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace pilot::platform {

// From the text `cc -v` printed (stdout and stderr merged).
std::string compiler_id_from_output(std::string_view output);

// Runs `cc -v` with LC_ALL=C (`cc`: $CC, default "cc"). A compiler that is absent, fails, hangs
// past `timeout` or prints no known version gives "unknown", as in LbPlatformUtils.
std::string compiler_id(const std::string& cc,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace pilot::platform
