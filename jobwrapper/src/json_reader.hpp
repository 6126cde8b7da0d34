#pragma once
// Reading the wrapper's own JSON records (job.json, keeper.json) field by field, naming the field
// when a record is damaged.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/error.hpp"
#include "core/json_number.hpp"

namespace pilot::jobwrapper {

// Writing: an absent optional or an empty text is JSON null.
template <typename T>
nlohmann::ordered_json opt(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}
inline nlohmann::ordered_json str_or_null(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

// Field access that names the field when the record is damaged.
struct Reader {
  const nlohmann::json& j;
  std::string where;
  const nlohmann::json* find(const char* key) const {
    auto it = j.find(key);
    return it == j.end() || it->is_null() ? nullptr : &*it;
  }
  template <typename T>
  T get(const char* key, T fallback = T{}) const {
    const nlohmann::json* v = find(key);
    if (!v) return fallback;
    if constexpr (std::is_arithmetic_v<T>) {
      // nlohmann converts any number to any arithmetic type with a plain cast, undefined for a
      // value out of the type's range: a damaged record must not get that far.
      if (auto n = json_number<T>(*v)) return *n;
      throw Error(where + ": field '" + key + "' has the wrong type or is out of range");
    } else {
      try {
        return v->get<T>();
      } catch (const nlohmann::json::exception&) {
        throw Error(where + ": field '" + key + "' has the wrong type");
      }
    }
  }
  // Calls fn with a Reader for each element of the array `key` (absent: no call).
  template <typename F>
  void each(const char* key, F fn) const {
    const nlohmann::json* a = find(key);
    if (!a) return;
    if (!a->is_array()) throw Error(where + ": field '" + key + "' is not an array");
    for (const auto& e : *a) fn(Reader{e, where + ": " + key + "[]"});
  }
  template <typename T>
  std::optional<T> get_opt(const char* key) const {
    if (!find(key)) return std::nullopt;
    return get<T>(key);
  }
};

// A closed set's words: one table per enum, `unknown` starts the error for a word not in it.
template <typename E, std::size_t N>
std::string_view word_of(E value, const std::pair<E, std::string_view> (&words)[N]) {
  for (const auto& [v, w] : words)
    if (v == value) return w;
  return "?";  // unreachable: every enumerator is listed
}

template <typename E, std::size_t N>
E value_of(std::string_view word, const std::pair<E, std::string_view> (&words)[N],
           const char* unknown) {
  for (const auto& [v, w] : words)
    if (w == word) return v;
  throw Error(std::string(unknown) + " '" + std::string(word) + "'");
}

}  // namespace pilot::jobwrapper
