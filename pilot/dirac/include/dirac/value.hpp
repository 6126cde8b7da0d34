#pragma once
// The one value type of DIRAC's RPC payloads: what DEncode and DIRAC's JSON flavour can carry.
// Python types map one to one so a value survives a round trip through a DIRAC server unchanged:
// None, bool, int (int64, or BigInt beyond that), float, str, bytes, list, tuple, dict (keys of
// any type, insertion order kept), datetime, date, time.

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pilot::dirac {

struct Null {
  bool operator==(const Null&) const = default;
};
// An integer outside int64 (Python ints are unbounded), kept as its decimal text.
struct BigInt {
  std::string digits;
  bool operator==(const BigInt&) const = default;
};
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};
// Naive (no time zone) like the datetimes DIRAC exchanges; DIRAC uses UTC throughout.
struct DateTime {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, microsecond = 0;
  bool operator==(const DateTime&) const = default;
};
struct Date {
  int year = 1970, month = 1, day = 1;
  bool operator==(const Date&) const = default;
};
struct Time {
  int hour = 0, minute = 0, second = 0, microsecond = 0;
  bool operator==(const Time&) const = default;
};

class Value;
struct List {
  std::vector<Value> items;
  bool operator==(const List&) const;
};
struct Tuple {
  std::vector<Value> items;
  bool operator==(const Tuple&) const;
};
struct Dict {
  std::vector<std::pair<Value, Value>> items;
  bool operator==(const Dict&) const;
  // The value of a string key, or nullptr.
  const Value* find(std::string_view key) const;
  // Replaces the value of a string key or appends it.
  void set(std::string key, Value value);
};

class Value {
 public:
  using Variant = std::variant<Null, bool, std::int64_t, BigInt, double, std::string, Bytes, List,
                               Tuple, Dict, DateTime, Date, Time>;

  Value() = default;
  Value(Null) {}
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(std::int64_t{i}) {}
  Value(long i) : v_(std::int64_t{i}) {}
  Value(long long i) : v_(std::int64_t{i}) {}
  Value(unsigned i) : v_(std::int64_t{i}) {}
  Value(BigInt b) : v_(std::move(b)) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(List l) : v_(std::move(l)) {}
  Value(Tuple t) : v_(std::move(t)) {}
  Value(Dict d) : v_(std::move(d)) {}
  Value(DateTime t) : v_(t) {}
  Value(Date d) : v_(d) {}
  Value(Time t) : v_(t) {}

  const Variant& variant() const { return v_; }
  template <typename T>
  bool is() const {
    return std::holds_alternative<T>(v_);
  }
  bool is_null() const { return is<Null>(); }
  // Python's name of the type ("int", "str", "dict", ...), for error messages.
  std::string_view type_name() const;

  // Typed access; a wrong type throws pilot::Error "expected <type>, got <type>" with `what`
  // naming the value in the message.
  bool as_bool(std::string_view what = "value") const;
  std::int64_t as_int(std::string_view what = "value") const;
  double as_double(std::string_view what = "value") const;  // int or float
  const std::string& as_string(std::string_view what = "value") const;
  const Dict& as_dict(std::string_view what = "value") const;
  // The items of a list or a tuple.
  const std::vector<Value>& as_sequence(std::string_view what = "value") const;

  bool operator==(const Value&) const = default;

 private:
  Variant v_;
};

inline List list(std::initializer_list<Value> items) {
  return List{items};
}
inline Tuple tuple(std::initializer_list<Value> items) {
  return Tuple{items};
}
Dict dict(std::initializer_list<std::pair<std::string, Value>> items);

// S_OK(value) and S_ERROR(message, errno) as DIRAC builds them.
Dict s_ok(Value value = Value());
Dict s_error(std::string message, std::int64_t errno_value = 0);

// "YYYY-mm-dd HH:MM:SS" plus ".ffffff" when `microseconds` (DIRAC's status-time layout).
std::string format_datetime(const DateTime& t, bool microseconds);
std::string format_date(const Date& d);
std::string format_time(const Time& t);  // "HH:MM:SS", ".ffffff" when non-zero
// Parses "YYYY-mm-dd HH:MM:SS[.ffffff]" (also with a 'T'); nullopt when it is not that.
std::optional<DateTime> parse_datetime(std::string_view text);
std::optional<Date> parse_date(std::string_view text);
// The UTC calendar time of a system-clock instant.
DateTime utc_datetime(std::chrono::system_clock::time_point t);

// Human-readable rendering (Python repr-like), for logs and the CLI.
std::string to_debug_string(const Value& value);

}  // namespace pilot::dirac
