#include "mjf/batch_parsers.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>

#include "core/trim.hpp"
#include "mjf/value.hpp"

namespace pilot::mjf {
namespace {

using Map = std::map<std::string, std::string, std::less<>>;

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (std::size_t start = 0;;) {
    auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    std::size_t start = i;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

std::optional<std::int64_t> non_negative(std::string_view s) {
  if (s.empty() || s.front() == '+' || s.front() == '-') return std::nullopt;
  auto v = parse_integer(s);
  return v;
}

// One field of a duration (days, hours, minutes or seconds). Bounded so that adding up the
// fields in seconds cannot overflow: a larger field is garbage, not a limit.
std::optional<std::int64_t> duration_field(std::string_view s) {
  auto v = non_negative(s);
  if (v && *v > 1'000'000'000) return std::nullopt;
  return v;
}

// Local broken-down time to epoch: the batch systems print local time.
std::optional<std::int64_t> local_epoch(int year, int mon, int day, int hour, int min, int sec) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(t);
}

}  // namespace

std::optional<TimeLimit> parse_squeue_time_left(std::string_view text) {
  text = trim(text);
  if (text == "UNLIMITED") return TimeLimit{std::nullopt, true};
  std::int64_t days = 0;
  bool after_days = false;
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    auto d = duration_field(text.substr(0, dash));
    if (!d) return std::nullopt;
    days = *d;
    after_days = true;
    text = text.substr(dash + 1);
  }
  auto parts = split(text, ':');
  std::vector<std::int64_t> n;
  for (auto p : parts) {
    auto v = duration_field(p);
    if (!v) return std::nullopt;
    n.push_back(*v);
  }
  std::int64_t secs = 0;
  // Slurm prints M:SS, H:MM:SS or D-HH:MM:SS; after "D-" a shorter form is D-HH or D-HH:MM.
  if (after_days) {
    if (n.size() == 1)
      secs = n[0] * 3600;
    else if (n.size() == 2)
      secs = n[0] * 3600 + n[1] * 60;
    else if (n.size() == 3)
      secs = n[0] * 3600 + n[1] * 60 + n[2];
    else
      return std::nullopt;
  } else {
    if (n.size() == 2)
      secs = n[0] * 60 + n[1];
    else if (n.size() == 3)
      secs = n[0] * 3600 + n[1] * 60 + n[2];
    else if (n.size() == 1)
      secs = n[0] * 60;  // plain minutes, Slurm's input form
    else
      return std::nullopt;
  }
  return TimeLimit{days * 86400 + secs, false};
}

Map parse_key_values(std::string_view text) {
  Map out;
  for (auto w : words(text)) {
    auto eq = w.find('=');
    if (eq == std::string_view::npos || eq == 0) continue;
    out.emplace(std::string(w.substr(0, eq)), std::string(w.substr(eq + 1)));
  }
  return out;
}

std::optional<EndTime> parse_scontrol_end_time(std::string_view text) {
  auto kv = parse_key_values(text);
  if (auto it = kv.find("TimeLimit"); it != kv.end() && it->second == "UNLIMITED")
    return EndTime{std::nullopt, true};
  auto it = kv.find("EndTime");
  if (it == kv.end()) return std::nullopt;
  int y, mo, d, h, mi, s;
  char tail;
  if (std::sscanf(it->second.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s,
                  &tail) != 6)
    return std::nullopt;
  auto t = local_epoch(y, mo, d, h, mi, s);
  if (!t) return std::nullopt;
  return EndTime{t, false};
}

Map parse_classad(std::string_view text) {
  Map out;
  for (auto line : split(text, '\n')) {
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (key.empty()) continue;
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    std::string k(key);
    for (char& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out[k] = std::string(value);
  }
  return out;
}

std::optional<std::int64_t> parse_clock_duration(std::string_view text) {
  text = trim(text);
  auto parts = split(text, ':');
  if (parts.empty() || parts.size() > 4) return std::nullopt;
  // The last field may carry a fraction of a second (LSF), which does not count.
  auto& last = parts.back();
  if (auto dot = last.find('.'); dot != std::string_view::npos) {
    auto frac = last.substr(dot + 1);
    if (frac.empty() || frac.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    last = last.substr(0, dot);
  }
  static constexpr std::int64_t unit[] = {1, 60, 3600, 86400};
  std::int64_t total = 0;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    auto v = duration_field(parts[parts.size() - 1 - i]);
    if (!v) return std::nullopt;
    total += *v * unit[i];
  }
  return total;
}

std::optional<std::int64_t> parse_size(std::string_view text) {
  text = trim(text);
  std::size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0) return std::nullopt;
  auto n = non_negative(text.substr(0, digits));
  if (!n) return std::nullopt;
  std::string unit(text.substr(digits));
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, std::int64_t, std::less<>> units = {
      {"", 1},           {"b", 1},          {"w", 8},          {"k", 1LL << 10},
      {"kb", 1LL << 10}, {"kw", 8LL << 10}, {"m", 1LL << 20},  {"mb", 1LL << 20},
      {"mw", 8LL << 20}, {"g", 1LL << 30},  {"gb", 1LL << 30}, {"gw", 8LL << 30},
      {"t", 1LL << 40},  {"tb", 1LL << 40}, {"tw", 8LL << 40}};
  auto it = units.find(unit);
  if (it == units.end()) return std::nullopt;
  if (*n > INT64_MAX / it->second) return std::nullopt;
  return *n * it->second;
}

Map parse_qstat_f(std::string_view text) {
  Map out;
  std::string* last = nullptr;
  for (auto line : split(text, '\n')) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Torque wraps long values onto lines that start with a tab.
    if (!line.empty() && line.front() == '\t' && last) {
      *last += trim(line);
      continue;
    }
    auto eq = line.find(" = ");
    if (eq == std::string_view::npos) {
      last = nullptr;
      continue;
    }
    auto& v = out[std::string(trim(line.substr(0, eq)))];
    v = std::string(trim(line.substr(eq + 3)));
    last = &v;
  }
  return out;
}

Map parse_bjobs_w(std::string_view text) {
  Map out;
  std::vector<std::string_view> header, row;
  for (auto line : split(text, '\n')) {
    auto w = words(line);
    if (w.empty()) continue;
    if (header.empty()) {
      if (w.front() == "JOBID") header = w;
      continue;
    }
    row = w;
    break;
  }
  if (header.empty() || row.empty()) return out;
  // An estimated FINISH_TIME may carry a one-letter flag after it.
  if (row.size() == header.size() + 1 && row.back().size() == 1) row.pop_back();
  if (row.size() == header.size()) {
    for (std::size_t i = 0; i < header.size(); ++i)
      out[std::string(header[i])] = std::string(row[i]);
    return out;
  }
  // A job name with spaces: the six first and six last columns are still unambiguous.
  std::size_t edge = std::min<std::size_t>({6, header.size(), row.size()});
  for (std::size_t i = 0; i < edge; ++i) {
    out[std::string(header[i])] = std::string(row[i]);
    out[std::string(header[header.size() - 1 - i])] = std::string(row[row.size() - 1 - i]);
  }
  return out;
}

std::optional<std::int64_t> parse_lsf_time(std::string_view text, std::int64_t now) {
  int mo, d, h, mi, s;
  char tail;
  std::string t(trim(text));
  if (std::sscanf(t.c_str(), "%2d/%2d-%2d:%2d:%2d%c", &mo, &d, &h, &mi, &s, &tail) != 5)
    return std::nullopt;
  std::time_t n = static_cast<std::time_t>(now);
  std::tm local{};
  localtime_r(&n, &local);
  std::optional<std::int64_t> best;
  for (int year : {local.tm_year + 1900 - 1, local.tm_year + 1900, local.tm_year + 1900 + 1}) {
    auto e = local_epoch(year, mo, d, h, mi, s);
    if (e && (!best || std::llabs(*e - now) < std::llabs(*best - now))) best = e;
  }
  return best;
}

Map parse_qstat_j(std::string_view text) {
  Map out;
  for (auto line : split(text, '\n')) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(trim(line.substr(0, colon)));
    auto value = trim(line.substr(colon + 1));
    if (name.empty()) continue;
    // "usage    1:     wallclock=..., cpu=..." carries the task number before the colon.
    if (name.starts_with("usage")) {
      name = "usage";
    }
    out[name] = std::string(value);
    if (name == "usage" || name.find("resource_list") != std::string::npos) {
      for (auto item : split(value, ',')) {
        item = trim(item);
        auto eq = item.find('=');
        if (eq == std::string_view::npos) continue;
        out[name + "." + std::string(trim(item.substr(0, eq)))] =
            std::string(trim(item.substr(eq + 1)));
      }
    }
  }
  return out;
}

}  // namespace pilot::mjf
