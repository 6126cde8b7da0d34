#pragma once
// The two payload encodings of DIRAC RPC: DEncode (DISET's own, the default of DIRAC v8) and
// DIRAC's JSON flavour (HTTPS, and DISET from v9), with `__dCls` objects for datetimes, dates and
// bytes. Decoders never trust their input: garbage, truncated data, excessive nesting or
// oversized numbers throw pilot::Error naming the offset and what was expected.

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "dirac/value.hpp"

namespace pilot::dirac {

struct DecodeLimits {
  std::size_t max_depth = 100;           // nested lists/tuples/dicts
  std::size_t max_number_digits = 4300;  // Python's own int-parsing limit
};

std::string dencode(const Value& value);
// Decodes exactly one value that must span the whole input.
Value ddecode(std::string_view data, const DecodeLimits& limits = {});

// Python's repr() of a float: the shortest text that reads back to the same double, in Python's
// layout ("2.5", "2.0", "1e-10", "1.5e+16", "inf", "nan").
std::string python_float_repr(double value);

// DIRAC JSON: tuples become lists; datetime -> {"__dCls": "dt", "obj": "YYYY-mm-dd HH:MM:SS"},
// date -> {"__dCls": "date", "obj": "YYYY-mm-dd"}, bytes -> {"__dCls": "b64", "obj": base64};
// time -> "HH:MM:SS[.ffffff]" (DIRAC has no class tag for it); non-string dict keys as Python's
// json module writes them (ints and floats in decimal, true/false/null). Other keys throw.
nlohmann::json to_json(const Value& value);
Value from_json(const nlohmann::json& json);
std::string json_encode(const Value& value);
Value json_decode(std::string_view text, const DecodeLimits& limits = {});

// What a DIRAC receiver does: DEncode first, then JSON. Throws pilot::Error with both reasons.
Value mixed_decode(std::string_view data, const DecodeLimits& limits = {});

}  // namespace pilot::dirac
