#pragma once
// The one checked conversion of a JSON number read from disk (records, queue status, report
// buffers) to a C++ arithmetic type. nlohmann's get<T>() casts any number to any arithmetic type
// unchecked, which is undefined for a value out of T's range: a damaged or hostile file must not
// get that far. Written against nlohmann's basic_json interface without including it, so that
// core/base keeps no external library.

#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

namespace pilot {

// `v` as a T when it is one: a boolean for bool, an integer in T's range for an integer type, a
// finite number for a floating-point type; nullopt otherwise.
template <typename T, typename Json>
std::optional<T> json_number(const Json& v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (v.is_boolean()) return v.template get<bool>();
  } else if constexpr (std::is_integral_v<T>) {
    if (v.is_number_unsigned()) {
      auto u = v.template get<std::uint64_t>();
      if (std::in_range<T>(u)) return static_cast<T>(u);
    } else if (v.is_number_integer()) {
      auto i = v.template get<std::int64_t>();
      if (std::in_range<T>(i)) return static_cast<T>(i);
    }
  } else if constexpr (std::is_floating_point_v<T>) {
    if (v.is_number() && (!v.is_number_float() || std::isfinite(v.template get<double>())))
      return v.template get<T>();
  }
  return std::nullopt;
}

}  // namespace pilot
