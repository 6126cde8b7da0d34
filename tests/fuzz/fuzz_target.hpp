#pragma once
// What every fuzz target shares: libFuzzer's entry point, the input as text, and FUZZ_CHECK, which
// reports a broken invariant and aborts so libFuzzer (or the regression driver) records a crash.
// Targets catch pilot::Error only: any other exception escaping a parser is a bug to find.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace pilot::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void invariant_broken(const char* file, int line, const char* what,
                                          std::string_view detail) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
  if (!detail.empty())
    std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
  std::abort();
}

}  // namespace pilot::fuzz

#define FUZZ_CHECK(cond, detail)                                                       \
  do {                                                                                 \
    if (!(cond)) ::pilot::fuzz::invariant_broken(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)
