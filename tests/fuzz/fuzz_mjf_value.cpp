// MJF value rules and the batch-system output parsers behind them (mjf/): they never throw, and
// what they accept is consistent: an integer is also a decimal of the same value, a cleaned value
// is already clean, a parsed number prints and parses back to itself.

#include <cmath>

#include "fuzz_target.hpp"
#include "mjf/batch_parsers.hpp"
#include "mjf/value.hpp"

using namespace pilot::mjf;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = pilot::fuzz::as_text(data, size);
  auto clean = clean_value(in);
  if (clean) {
    FUZZ_CHECK(clean_value(*clean) == clean, *clean);
    FUZZ_CHECK(clean->find_first_of("\r\n") == std::string::npos, *clean);
  }
  auto i = parse_integer(in);
  auto d = parse_decimal(in);
  if (i) {
    FUZZ_CHECK(clean.has_value(), std::string(in));
    FUZZ_CHECK(parse_integer(std::to_string(*i)) == i, std::to_string(*i));
    FUZZ_CHECK(d && *d == static_cast<double>(*i), std::string(in));
  }
  if (d) {
    FUZZ_CHECK(clean.has_value() && std::isfinite(*d), std::string(in));
    FUZZ_CHECK(parse_decimal(*clean) == d, *clean);
  }
  (void)parse_squeue_time_left(in);
  (void)parse_scontrol_end_time(in);
  (void)parse_key_values(in);
  (void)parse_classad(in);
  (void)parse_clock_duration(in);
  (void)parse_size(in);
  (void)parse_qstat_f(in);
  (void)parse_bjobs_w(in);
  (void)parse_lsf_time(in, 1764000000);
  (void)parse_qstat_j(in);
  return 0;
}
