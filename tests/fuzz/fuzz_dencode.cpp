// DEncode and DIRAC JSON decoders (pilot/dirac codec): whatever the bytes, a decode either fails
// with pilot::Error or yields a value whose encoding decodes back to the same encoding; what a
// DISET receiver does (mixed_decode) agrees with DEncode on DEncode input.

#include <optional>

#include "core/error.hpp"
#include "dirac/codec.hpp"
#include "fuzz_target.hpp"

using namespace pilot::dirac;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = pilot::fuzz::as_text(data, size);
  std::optional<Value> v;
  try {
    v = ddecode(in);
  } catch (const pilot::Error&) {
  }
  if (!v) {
    try {
      Value j = mixed_decode(in);
      std::string once = json_encode(j);
      Value again = json_decode(once);
      FUZZ_CHECK(json_encode(again) == once, once);
    } catch (const pilot::Error&) {
    }
    return 0;
  }
  std::string once = dencode(*v);
  std::optional<Value> again;
  try {
    again = ddecode(once);
  } catch (const pilot::Error& e) {
    FUZZ_CHECK(!"our own DEncode output decodes", std::string(e.what()) + " in " + once);
  }
  FUZZ_CHECK(dencode(*again) == once, once);
  FUZZ_CHECK(dencode(mixed_decode(in)) == once, once);
  (void)to_debug_string(*v);
  try {
    std::string j = json_encode(*v);
    FUZZ_CHECK(json_encode(json_decode(j)) == j, j);
  } catch (const pilot::Error&) {
    // Values JSON cannot carry (a dict key that is a list, ...) are refused with an Error.
  }
  return 0;
}
