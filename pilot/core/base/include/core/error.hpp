#pragma once
// Errors at module borders are exceptions carrying their context (which input, which step), so a
// caller can print e.what() and an operator knows what to fix. Absent-but-valid data is
// std::optional, never an exception.

#include <stdexcept>
#include <string>
#include <string_view>

namespace pilot {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "<what>: <strerror(err)>"; errno values from system calls keep their text.
[[noreturn]] void throw_errno(std::string_view what, int err);

}  // namespace pilot
