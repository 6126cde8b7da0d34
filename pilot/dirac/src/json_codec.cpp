// DIRAC's JSON flavour (JEncode): plain JSON plus `__dCls` objects for the types JSON lacks.

#include <openssl/evp.h>

#include <algorithm>

#include "core/error.hpp"
#include "dirac/codec.hpp"

namespace pilot::dirac {
namespace {

using json = nlohmann::json;

std::string base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(n);
  return out;
}

std::string unbase64(const std::string& in) {
  std::string s;
  for (char c : in)
    if (c != '\n' && c != '\r') s += c;
  if (s.size() % 4)
    throw Error("JSON: b64 object: base64 text length " + std::to_string(s.size()) +
                " is not a multiple of 4");
  std::string out(s.size() / 4 * 3 + 1, '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  if (n < 0) throw Error("JSON: b64 object: invalid base64 text");
  std::size_t padding = 0;
  if (!s.empty() && s.back() == '=') ++padding;
  if (s.size() > 1 && s[s.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string key_text(const Value& k) {
  if (k.is<std::string>()) return k.as_string();
  if (k.is<std::int64_t>()) return std::to_string(k.as_int());
  if (k.is<BigInt>()) return std::get<BigInt>(k.variant()).digits;
  if (k.is<double>()) return python_float_repr(k.as_double());
  if (k.is<bool>()) return k.as_bool() ? "true" : "false";
  if (k.is_null()) return "null";
  throw Error("JSON: a dict key of type " + std::string(k.type_name()) + " cannot be encoded (" +
              to_debug_string(k).substr(0, 60) + ")");
}

json cls(const char* name, std::string obj) {
  return json{{"__dCls", name}, {"obj", std::move(obj)}};
}

Value from(const json& j, std::size_t depth, const DecodeLimits& limits) {
  if (depth > limits.max_depth)
    throw Error("JSON: nesting deeper than " + std::to_string(limits.max_depth) + " levels");
  switch (j.type()) {
    case json::value_t::null:
      return Null{};
    case json::value_t::boolean:
      return j.get<bool>();
    case json::value_t::number_integer:
      return j.get<std::int64_t>();
    case json::value_t::number_unsigned: {
      auto u = j.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(INT64_MAX)) return BigInt{std::to_string(u)};
      return static_cast<std::int64_t>(u);
    }
    case json::value_t::number_float:
      return j.get<double>();
    case json::value_t::string:
      return j.get<std::string>();
    case json::value_t::array: {
      List l;
      for (const auto& e : j) l.items.push_back(from(e, depth + 1, limits));
      return l;
    }
    case json::value_t::object: {
      auto c = j.find("__dCls");
      if (c != j.end() && c->is_string() && j.size() == 2 && j.contains("obj")) {
        const auto& obj = j["obj"];
        std::string name = c->get<std::string>();
        if (!obj.is_string())
          throw Error("JSON: __dCls " + name + " object without a string 'obj'");
        std::string text = obj.get<std::string>();
        if (name == "dt") {
          if (auto t = parse_datetime(text)) return *t;
          throw Error("JSON: __dCls dt: '" + text.substr(0, 40) + "' is not YYYY-mm-dd HH:MM:SS");
        }
        if (name == "date") {
          if (auto d = parse_date(text)) return *d;
          throw Error("JSON: __dCls date: '" + text.substr(0, 40) + "' is not YYYY-mm-dd");
        }
        if (name == "b64") return Bytes{unbase64(text)};
        throw Error("JSON: unknown __dCls class '" + name.substr(0, 40) + "'");
      }
      Dict d;
      for (const auto& [k, v] : j.items())
        d.items.emplace_back(Value(k), from(v, depth + 1, limits));
      return d;
    }
    default:
      throw Error("JSON: unsupported value of type " + std::string(j.type_name()));
  }
}

}  // namespace

// A key as the encoder will print it: invalid UTF-8 replaced by U+FFFD (json_encode's rule)
// before it takes its place in the object, whose keys are ordered, so that encoding a decoded
// encoding gives the same text.
static std::string utf8_key(std::string key) {
  if (std::all_of(key.begin(), key.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
    return key;
  return json::parse(json(key).dump(-1, ' ', false, json::error_handler_t::replace))
      .get<std::string>();
}

json to_json(const Value& v) {
  return std::visit(
      [&](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Null>)
          return nullptr;
        else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::int64_t> ||
                           std::is_same_v<T, std::string>)
          return x;
        else if constexpr (std::is_same_v<T, double>)
          return x;
        else if constexpr (std::is_same_v<T, BigInt>) {
          // nlohmann has no arbitrary-precision integers: beyond 64 bits this becomes a float.
          try {
            return json::parse(x.digits);
          } catch (const json::exception&) {
            throw Error("JSON: '" + x.digits.substr(0, 40) + "' is not an integer");
          }
        } else if constexpr (std::is_same_v<T, Bytes>)
          return cls("b64", base64(x.data));
        else if constexpr (std::is_same_v<T, List> || std::is_same_v<T, Tuple>) {
          json a = json::array();
          for (const auto& i : x.items) a.push_back(to_json(i));
          return a;
        } else if constexpr (std::is_same_v<T, Dict>) {
          json o = json::object();
          for (const auto& [k, val] : x.items) o[utf8_key(key_text(k))] = to_json(val);
          return o;
        } else if constexpr (std::is_same_v<T, DateTime>)
          return cls("dt", format_datetime(x, false));
        else if constexpr (std::is_same_v<T, Date>)
          return cls("date", format_date(x));
        else
          return format_time(x);
      },
      v.variant());
}

Value from_json(const json& j) {
  return from(j, 0, DecodeLimits{});
}

std::string json_encode(const Value& v) {
  return to_json(v).dump(-1, ' ', false, json::error_handler_t::replace);
}

Value json_decode(std::string_view text, const DecodeLimits& limits) {
  json j;
  try {
    // The parser callback sees nesting before values are built, so deep input fails early.
    j = json::parse(text.begin(), text.end(), [&](int depth, json::parse_event_t ev, json&) {
      if ((ev == json::parse_event_t::object_start || ev == json::parse_event_t::array_start) &&
          static_cast<std::size_t>(depth) > limits.max_depth)
        throw Error("JSON: nesting deeper than " + std::to_string(limits.max_depth) + " levels");
      return true;
    });
  } catch (const json::exception& e) {
    throw Error(std::string("JSON: ") + e.what());
  }
  return from(j, 0, limits);
}

Value mixed_decode(std::string_view data, const DecodeLimits& limits) {
  try {
    return ddecode(data, limits);
  } catch (const Error& dencode_error) {
    try {
      return json_decode(data, limits);
    } catch (const Error& json_error) {
      throw Error(std::string("neither DEncode nor JSON (") + dencode_error.what() + "; " +
                  json_error.what() + ")");
    }
  }
}

}  // namespace pilot::dirac
