#include "dirac/value.hpp"

#include "core/error.hpp"
#include "dirac/codec.hpp"

namespace pilot::dirac {

bool List::operator==(const List& o) const {
  return items == o.items;
}
bool Tuple::operator==(const Tuple& o) const {
  return items == o.items;
}
bool Dict::operator==(const Dict& o) const {
  return items == o.items;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k.is<std::string>() && k.as_string() == key) return &v;
  return nullptr;
}

void Dict::set(std::string key, Value value) {
  for (auto& [k, v] : items)
    if (k.is<std::string>() && k.as_string() == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(Value(std::move(key)), std::move(value));
}

Dict dict(std::initializer_list<std::pair<std::string, Value>> items) {
  Dict d;
  for (const auto& [k, v] : items) d.items.emplace_back(Value(k), v);
  return d;
}

Dict s_ok(Value value) {
  return dict({{"OK", true}, {"Value", std::move(value)}});
}

Dict s_error(std::string message, std::int64_t errno_value) {
  return dict({{"OK", false}, {"Message", std::move(message)}, {"Errno", errno_value}});
}

std::string_view Value::type_name() const {
  static constexpr std::string_view names[] = {"None",     "bool",  "int",  "int",   "float",
                                               "str",      "bytes", "list", "tuple", "dict",
                                               "datetime", "date",  "time"};
  return names[v_.index()];
}

namespace {
[[noreturn]] void wrong_type(std::string_view what, std::string_view expected, const Value& v) {
  throw Error(std::string(what) + ": expected " + std::string(expected) + ", got " +
              std::string(v.type_name()) + " " + to_debug_string(v).substr(0, 80));
}
}  // namespace

bool Value::as_bool(std::string_view what) const {
  if (auto* b = std::get_if<bool>(&v_)) return *b;
  wrong_type(what, "bool", *this);
}

std::int64_t Value::as_int(std::string_view what) const {
  if (auto* i = std::get_if<std::int64_t>(&v_)) return *i;
  wrong_type(what, is<BigInt>() ? "int within 64 bits" : "int", *this);
}

double Value::as_double(std::string_view what) const {
  if (auto* d = std::get_if<double>(&v_)) return *d;
  if (auto* i = std::get_if<std::int64_t>(&v_)) return static_cast<double>(*i);
  wrong_type(what, "float", *this);
}

const std::string& Value::as_string(std::string_view what) const {
  if (auto* s = std::get_if<std::string>(&v_)) return *s;
  wrong_type(what, "str", *this);
}

const Dict& Value::as_dict(std::string_view what) const {
  if (auto* d = std::get_if<Dict>(&v_)) return *d;
  wrong_type(what, "dict", *this);
}

const std::vector<Value>& Value::as_sequence(std::string_view what) const {
  if (auto* l = std::get_if<List>(&v_)) return l->items;
  if (auto* t = std::get_if<Tuple>(&v_)) return t->items;
  wrong_type(what, "list", *this);
}

namespace {
void pad(std::string& out, int v, int width) {
  std::string s = std::to_string(v);
  if (static_cast<int>(s.size()) < width) out.append(width - s.size(), '0');
  out += s;
}

}  // namespace

std::string format_datetime(const DateTime& t, bool microseconds) {
  std::string out;
  pad(out, t.year, 4), out += '-', pad(out, t.month, 2), out += '-', pad(out, t.day, 2);
  out += ' ', pad(out, t.hour, 2), out += ':', pad(out, t.minute, 2), out += ':';
  pad(out, t.second, 2);
  if (microseconds) out += '.', pad(out, t.microsecond, 6);
  return out;
}

std::string format_date(const Date& d) {
  std::string out;
  pad(out, d.year, 4), out += '-', pad(out, d.month, 2), out += '-', pad(out, d.day, 2);
  return out;
}

std::string format_time(const Time& t) {
  std::string out;
  pad(out, t.hour, 2), out += ':', pad(out, t.minute, 2), out += ':', pad(out, t.second, 2);
  if (t.microsecond) out += '.', pad(out, t.microsecond, 6);
  return out;
}

namespace {
// Reads exactly `n` digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}
}  // namespace

std::optional<Date> parse_date(std::string_view s) {
  Date d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, d.year) ||
      !digits(s, 5, 2, d.month) || !digits(s, 8, 2, d.day) || d.month < 1 || d.month > 12 ||
      d.day < 1 || d.day > 31)
    return std::nullopt;
  return d;
}

std::optional<DateTime> parse_datetime(std::string_view s) {
  if (s.size() < 19 || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  auto d = parse_date(s.substr(0, 10));
  DateTime t;
  if (!d || !digits(s, 11, 2, t.hour) || !digits(s, 14, 2, t.minute) ||
      !digits(s, 17, 2, t.second) || t.hour > 23 || t.minute > 59 || t.second > 60)
    return std::nullopt;
  t.year = d->year, t.month = d->month, t.day = d->day;
  if (s.size() > 19) {
    std::size_t n = s.size() - 20;
    if (s[19] != '.' || n == 0 || n > 6 || !digits(s, 20, n, t.microsecond)) return std::nullopt;
    for (std::size_t i = n; i < 6; ++i) t.microsecond *= 10;
  }
  return t;
}

DateTime utc_datetime(std::chrono::system_clock::time_point tp) {
  using namespace std::chrono;
  auto us = duration_cast<microseconds>(tp.time_since_epoch());
  auto day = floor<days>(us);
  year_month_day ymd{sys_days(day)};
  hh_mm_ss hms{floor<microseconds>(us - day)};
  DateTime t;
  t.year = static_cast<int>(ymd.year());
  t.month = static_cast<int>(static_cast<unsigned>(ymd.month()));
  t.day = static_cast<int>(static_cast<unsigned>(ymd.day()));
  t.hour = static_cast<int>(hms.hours().count());
  t.minute = static_cast<int>(hms.minutes().count());
  t.second = static_cast<int>(hms.seconds().count());
  t.microsecond = static_cast<int>(hms.subseconds().count());
  return t;
}

namespace {
void debug(const Value& v, std::string& out) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>)
          out += "None";
        else if constexpr (std::is_same_v<T, bool>)
          out += x ? "True" : "False";
        else if constexpr (std::is_same_v<T, std::int64_t>)
          out += std::to_string(x);
        else if constexpr (std::is_same_v<T, BigInt>)
          out += x.digits;
        else if constexpr (std::is_same_v<T, double>)
          out += python_float_repr(x);
        else if constexpr (std::is_same_v<T, std::string>)
          out += nlohmann::json(x).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        else if constexpr (std::is_same_v<T, Bytes>)
          out += "b" + nlohmann::json(x.data).dump(-1, ' ', true,
                                                   nlohmann::json::error_handler_t::replace);
        else if constexpr (std::is_same_v<T, List> || std::is_same_v<T, Tuple>) {
          constexpr bool is_list = std::is_same_v<T, List>;
          out += is_list ? '[' : '(';
          for (std::size_t i = 0; i < x.items.size(); ++i) {
            if (i) out += ", ";
            debug(x.items[i], out);
          }
          if (!is_list && x.items.size() == 1) out += ',';
          out += is_list ? ']' : ')';
        } else if constexpr (std::is_same_v<T, Dict>) {
          out += '{';
          for (std::size_t i = 0; i < x.items.size(); ++i) {
            if (i) out += ", ";
            debug(x.items[i].first, out);
            out += ": ";
            debug(x.items[i].second, out);
          }
          out += '}';
        } else if constexpr (std::is_same_v<T, DateTime>) {
          out += format_datetime(x, x.microsecond != 0);
        } else if constexpr (std::is_same_v<T, Date>) {
          out += format_date(x);
        } else if constexpr (std::is_same_v<T, Time>) {
          out += format_time(x);
        }
      },
      v.variant());
}
}  // namespace

std::string to_debug_string(const Value& value) {
  std::string out;
  debug(value, out);
  return out;
}

}  // namespace pilot::dirac
