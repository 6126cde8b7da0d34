#include "mjf/features.hpp"

#include "mjf/value.hpp"

namespace pilot::mjf {
namespace {

std::optional<std::int64_t> parse_as(std::string_view raw, const std::optional<std::int64_t>*) {
  return parse_integer(raw);
}
std::optional<double> parse_as(std::string_view raw, const std::optional<double>*) {
  return parse_decimal(raw);
}
std::optional<std::string> parse_as(std::string_view raw, const std::optional<std::string>*) {
  return clean_value(raw);
}

bool is_dynamic(std::string_view key) {
  return key == "shutdowntime" || key == "shutdowntime_job";
}
bool is_blank(std::string_view raw) {
  return raw.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// For logs: a value as received, short and on one line.
std::string shown(std::string_view raw) {
  std::string s(raw.substr(0, 60));
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return raw.size() > 60 ? s + "..." : s;
}

template <typename Set>
void read_set(const std::optional<Location>& location, Set& set, const FetchOptions& options,
              const log::Logger& log, bool dynamic_only) {
  if (!location) return;
  bool unreachable = false;
  for_each_key(set, [&](std::string_view key, auto& field) {
    if (dynamic_only && !is_dynamic(key)) return;
    // A dynamic key keeps its last good value through a failed re-read.
    auto fail = [&] {
      if (!dynamic_only) field.reset();
    };
    if (unreachable) return fail();
    Fetched got = fetch_key(*location, key, options);
    if (got.status == Fetched::Status::absent ||
        (got.status == Fetched::Status::value && is_blank(got.raw))) {
      field.reset();
      return;
    }
    if (got.status == Fetched::Status::failed) {
      log.warn(dynamic_only && field ? "cannot re-read an MJF key, keeping its last value"
                                     : "cannot read an MJF key, taking it as absent",
               {{"key", key}, {"source", location->base}, {"reason", got.reason}});
      if (got.transport_failed) {
        unreachable = true;
        log.warn("MJF server unreachable, its other keys are not tried in this pass",
                 {{"source", location->base}});
      }
      return fail();
    }
    auto value = parse_as(got.raw, &field);
    if (!value) {
      log.warn("ignoring an unusable MJF value",
               {{"key", key}, {"source", location->base}, {"value", shown(got.raw)}});
      return fail();
    }
    field = std::move(value);
  });
}

}  // namespace

Features read_features(const FeatureSources& sources, const log::Logger& log) {
  Features f;
  read_set(sources.machine, f.machine, sources.fetch, log, false);
  read_set(sources.job, f.job, sources.fetch, log, false);
  return f;
}

void refresh_dynamic(Features& features, const FeatureSources& sources, const log::Logger& log) {
  read_set(sources.machine, features.machine, sources.fetch, log, true);
  read_set(sources.job, features.job, sources.fetch, log, true);
}

}  // namespace pilot::mjf
