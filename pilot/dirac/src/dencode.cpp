// DEncode: i<int>e, I<int>e, f<repr>e, b0/b1, n, s<len>:<bytes>, u (as s), l..e, t..e, d..e,
// za/zd/zt + tuple. Layout checked against DIRAC v8's DEncode.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "dirac/codec.hpp"

namespace pilot::dirac {

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // Shortest round-trip digits, then Python's layout: positional for exponents -4..15.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, r.ptr - buf);
  bool neg = s.front() == '-';
  if (neg) s.remove_prefix(1);
  auto epos = s.find('e');
  std::string digits;
  for (char c : s.substr(0, epos))
    if (c != '.') digits += c;
  int exp = std::atoi(std::string(s.substr(epos + 1)).c_str());
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    int point = exp + 1;  // digits before the decimal point
    if (point <= 0) {
      out += "0." + std::string(-point, '0') + digits;
    } else if (point >= static_cast<int>(digits.size())) {
      out += digits + std::string(point - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, point) + "." + digits.substr(point);
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += exp < 0 ? "e-" : "e+";
    std::string e = std::to_string(std::abs(exp));
    if (e.size() < 2) e = "0" + e;
    out += e;
  }
  return out;
}

namespace {

void encode(const Value& v, std::string& out);

void encode_items(char tag, const std::vector<Value>& items, std::string& out) {
  out += tag;
  for (const auto& i : items) encode(i, out);
  out += 'e';
}

void encode(const Value& v, std::string& out) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>)
          out += 'n';
        else if constexpr (std::is_same_v<T, bool>)
          out += x ? "b1" : "b0";
        else if constexpr (std::is_same_v<T, std::int64_t>)
          out += "i" + std::to_string(x) + "e";
        else if constexpr (std::is_same_v<T, BigInt>)
          out += "i" + x.digits + "e";
        else if constexpr (std::is_same_v<T, double>)
          out += "f" + python_float_repr(x) + "e";
        else if constexpr (std::is_same_v<T, std::string>)
          out += "s" + std::to_string(x.size()) + ":" + x;
        else if constexpr (std::is_same_v<T, Bytes>)
          out += "s" + std::to_string(x.data.size()) + ":" + x.data;
        else if constexpr (std::is_same_v<T, List>)
          encode_items('l', x.items, out);
        else if constexpr (std::is_same_v<T, Tuple>)
          encode_items('t', x.items, out);
        else if constexpr (std::is_same_v<T, Dict>) {
          out += 'd';
          for (const auto& [k, val] : x.items) encode(k, out), encode(val, out);
          out += 'e';
        } else if constexpr (std::is_same_v<T, DateTime>) {
          out += "za";
          encode(
              tuple({x.year, x.month, x.day, x.hour, x.minute, x.second, x.microsecond, nullptr}),
              out);
        } else if constexpr (std::is_same_v<T, Date>) {
          out += "zd";
          encode(tuple({x.year, x.month, x.day}), out);
        } else if constexpr (std::is_same_v<T, Time>) {
          out += "zt";
          encode(tuple({x.hour, x.minute, x.second, x.microsecond, nullptr}), out);
        }
      },
      v.variant());
}

class Decoder {
 public:
  Decoder(std::string_view data, const DecodeLimits& limits) : d_(data), limits_(limits) {}

  Value top() {
    Value v = value(0);
    if (pos_ != d_.size()) fail("end of data", "trailing bytes");
    return v;
  }

 private:
  [[noreturn]] void fail(std::string_view expected, std::string_view found = {}) const {
    std::string msg =
        "DEncode: at offset " + std::to_string(pos_) + ": expected " + std::string(expected);
    if (!found.empty())
      msg += ", found " + std::string(found);
    else if (pos_ >= d_.size())
      msg += ", found end of data (truncated input)";
    else
      msg += ", found " + describe(d_[pos_]);
    throw Error(msg);
  }
  static std::string describe(char c) {
    if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned char>(c));
    return buf;
  }
  char next(std::string_view expected) {
    if (pos_ >= d_.size()) fail(expected);
    return d_[pos_++];
  }
  // Text up to the terminator `term`, bounded so a huge number cannot exhaust memory.
  std::string_view until(char term, std::string_view what) {
    std::size_t end = d_.find(term, pos_);
    if (end == std::string_view::npos) {
      pos_ = d_.size();
      fail(std::string(what) + " terminated by '" + term + "'");
    }
    if (end - pos_ > limits_.max_number_digits)
      fail(std::string(what) + " of at most " + std::to_string(limits_.max_number_digits) +
               " characters",
           "a longer one");
    auto s = d_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }

  Value integer() {
    std::size_t start = pos_;
    auto s = until('e', "an integer");
    std::string_view digits = s;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    bool ok = !digits.empty();
    for (char c : digits) ok = ok && c >= '0' && c <= '9';
    if (!ok) {
      pos_ = start;
      fail("an integer", "'" + std::string(s.substr(0, 40)) + "'");
    }
    std::int64_t i = 0;
    auto r = std::from_chars(s.data() + (s[0] == '+'), s.data() + s.size(), i);
    if (r.ec == std::errc::result_out_of_range) {
      // Python's int("-007") is -7: keep the canonical digits, which JSON can also carry.
      bool negative = s[0] == '-';
      digits = digits.substr(std::min(digits.find_first_not_of('0'), digits.size()));
      return BigInt{(negative ? "-" : "") + std::string(digits)};
    }
    return i;
  }

  Value floating() {
    std::size_t start = pos_;
    std::size_t end = d_.find('e', pos_);
    // Python writes exponents as "1e-10", so an 'e' followed by a sign belongs to the number.
    if (end != std::string_view::npos && end + 1 < d_.size() &&
        (d_[end + 1] == '-' || d_[end + 1] == '+'))
      end = d_.find('e', end + 1);
    if (end == std::string_view::npos) {
      pos_ = d_.size();
      fail("a float terminated by 'e'");
    }
    std::string text(d_.substr(pos_, end - pos_));
    if (text.size() > limits_.max_number_digits)
      fail("a float of reasonable length", "a longer one");
    double v = 0;
    const char* b = text.c_str();
    if (!text.empty() && text[0] == '+') ++b;
    auto r = std::from_chars(b, text.c_str() + text.size(), v);
    bool ok = !text.empty() && r.ptr == text.c_str() + text.size() &&
              (r.ec == std::errc() || r.ec == std::errc::result_out_of_range);
    if (!ok) {
      pos_ = start;
      fail("a float", "'" + text.substr(0, 40) + "'");
    }
    pos_ = end + 1;
    return v;
  }

  Value string() {
    std::size_t start = pos_;
    std::size_t colon = d_.find(':', pos_);
    if (colon == std::string_view::npos || colon - pos_ > 20)
      fail("a string length followed by ':'");
    auto len_text = d_.substr(pos_, colon - pos_);
    std::size_t len = 0;
    auto r = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len_text.empty() || r.ptr != len_text.data() + len_text.size())
      fail("a string length", "'" + std::string(len_text) + "'");
    pos_ = colon + 1;
    if (len > d_.size() - pos_) {
      pos_ = start;
      fail("a string of " + std::to_string(len) + " bytes",
           "only " + std::to_string(d_.size() - colon - 1) + " bytes left (truncated input)");
    }
    std::string s(d_.substr(pos_, len));
    pos_ += len;
    return s;
  }

  std::vector<Value> items(std::size_t depth) {
    std::vector<Value> out;
    while (true) {
      if (pos_ >= d_.size()) fail("a value or 'e'");
      if (d_[pos_] == 'e') {
        ++pos_;
        return out;
      }
      out.push_back(value(depth + 1));
    }
  }

  Value datetime(std::size_t depth) {
    std::size_t start = pos_;
    char kind = next("'a', 'd' or 't' after 'z'");
    if (kind != 'a' && kind != 'd' && kind != 't') {
      --pos_;
      fail("'a', 'd' or 't' after 'z'");
    }
    std::size_t tstart = pos_;
    Value t = value(depth + 1);
    if (!t.is<Tuple>() && !t.is<List>()) {
      pos_ = tstart;
      fail("a tuple after 'z" + std::string(1, kind) + "'", std::string(t.type_name()));
    }
    const auto& f = t.as_sequence();
    auto field = [&](std::size_t i, int lo, int hi, int def) {
      if (i >= f.size() || f[i].is_null()) {
        if (def >= 0) return def;
      } else if (f[i].is<std::int64_t>() && f[i].as_int() >= lo && f[i].as_int() <= hi) {
        return static_cast<int>(f[i].as_int());
      }
      pos_ = start;
      fail("a valid date/time tuple", to_debug_string(t));
    };
    if (kind == 'a') {
      if (f.size() < 3 || f.size() > 8) {
        pos_ = start;
        fail("a datetime tuple of 3 to 8 fields", to_debug_string(t));
      }
      return DateTime{field(0, 1, 9999, -1), field(1, 1, 12, -1), field(2, 1, 31, -1),
                      field(3, 0, 23, 0),    field(4, 0, 59, 0),  field(5, 0, 59, 0),
                      field(6, 0, 999999, 0)};
    }
    if (kind == 'd') {
      if (f.size() != 3) {
        pos_ = start;
        fail("a date tuple of 3 fields", to_debug_string(t));
      }
      return Date{field(0, 1, 9999, -1), field(1, 1, 12, -1), field(2, 1, 31, -1)};
    }
    if (f.size() > 5) {
      pos_ = start;
      fail("a time tuple of at most 5 fields", to_debug_string(t));
    }
    return Time{field(0, 0, 23, 0), field(1, 0, 59, 0), field(2, 0, 59, 0), field(3, 0, 999999, 0)};
  }

  Value value(std::size_t depth) {
    if (depth > limits_.max_depth)
      fail("nesting of at most " + std::to_string(limits_.max_depth) + " levels", "deeper nesting");
    char tag = next("a value");
    switch (tag) {
      case 'i':
      case 'I':
        return integer();
      case 'f':
        return floating();
      case 'b': {
        char c = next("'0' or '1' after 'b'");
        return c != '0';
      }
      case 'n':
        return Null{};
      case 's':
      case 'u':
        return string();
      case 'l':
        return List{items(depth)};
      case 't':
        return Tuple{items(depth)};
      case 'd': {
        Dict d;
        while (true) {
          if (pos_ >= d_.size()) fail("a dict key or 'e'");
          if (d_[pos_] == 'e') {
            ++pos_;
            return d;
          }
          Value k = value(depth + 1);
          Value v = value(depth + 1);
          d.items.emplace_back(std::move(k), std::move(v));
        }
      }
      case 'z':
        return datetime(depth);
      default:
        --pos_;
        fail("a type letter (i, I, f, b, n, s, u, l, t, d, z)");
    }
  }

  std::string_view d_;
  const DecodeLimits& limits_;
  std::size_t pos_ = 0;
};

}  // namespace

std::string dencode(const Value& value) {
  std::string out;
  encode(value, out);
  return out;
}

Value ddecode(std::string_view data, const DecodeLimits& limits) {
  if (data.empty()) throw Error("DEncode: empty input");
  return Decoder(data, limits).top();
}

}  // namespace pilot::dirac
