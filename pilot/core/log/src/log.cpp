#include "core/log.hpp"

#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace pilot::log {

class Sink {
 public:
  Sink(const Options& o) : format(o.format), level(o.level), logger("pilot") {
    if (o.to_stderr) logger.sinks().push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    if (!o.file.empty()) {
      try {
        logger.sinks().push_back(
            std::make_shared<spdlog::sinks::basic_file_sink_mt>(o.file.string(), false));
      } catch (const spdlog::spdlog_ex& e) {
        throw Error("cannot open log file " + o.file.string() + ": " + e.what());
      }
    }
    // The line is rendered completely by render(), so both formats share one code path.
    logger.set_pattern("%v");
    logger.set_level(spdlog::level::trace);
    logger.flush_on(spdlog::level::warn);
  }
  Format format;
  Level level;
  spdlog::logger logger;
  std::function<void(const std::string&)> tee;
};

namespace {

nlohmann::json to_json(const Value& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

// What a person reads: four significant digits without an exponent (0.0968 rather than
// 0.09680645970227206, 0.00007612 rather than 7.612e-05, 12346 rather than 1.235e+04); the
// JSON format keeps every digit.
std::string human_number(double x) {
  if (!std::isfinite(x)) return nlohmann::json(x).dump();
  double magnitude = std::fabs(x);
  if (magnitude < 1e-9) return "0";
  int decimals = std::clamp(3 - static_cast<int>(std::floor(std::log10(magnitude))), 0, 12);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, x);
  std::string out = buf;
  if (out.find('.') != std::string::npos) {
    out.erase(out.find_last_not_of('0') + 1);
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

// Human format quotes values only when they would be ambiguous to grep or to split on spaces.
std::string human_value(const Value& v) {
  if (auto s = std::get_if<std::string>(&v)) {
    bool plain = !s->empty() && s->find_first_of(" \t\n\"=") == std::string::npos;
    return plain ? *s : nlohmann::json(*s).dump();
  }
  if (auto d = std::get_if<double>(&v)) return human_number(*d);
  return to_json(v).dump();
}

}  // namespace

Level parse_level(std::string_view t) {
  if (t == "trace") return Level::trace;
  if (t == "debug") return Level::debug;
  if (t == "info") return Level::info;
  if (t == "warn" || t == "warning") return Level::warn;
  if (t == "error") return Level::error;
  if (t == "off") return Level::off;
  throw Error("unknown log level '" + std::string(t) + "' (trace, debug, info, warn, error, off)");
}

Format parse_format(std::string_view t) {
  if (t == "human") return Format::human;
  if (t == "json") return Format::json;
  throw Error("unknown log format '" + std::string(t) + "' (human, json)");
}

std::string utc_timestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string_view level_name(Level level) {
  switch (level) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    case Level::off:
      return "off";
  }
  return "?";
}

std::shared_ptr<Sink> make_sink(const Options& options) {
  return std::make_shared<Sink>(options);
}

std::string render(Format format, Level level, std::string_view component, std::string_view msg,
                   const Fields& fields) {
  if (format == Format::json) {
    nlohmann::ordered_json j;
    j["ts"] = utc_timestamp();
    j["level"] = level_name(level);
    j["component"] = component;
    j["msg"] = msg;
    for (const auto& f : fields) {
      // A field may not overwrite the fixed keys that log shippers index on.
      if (f.key == "ts" || f.key == "level" || f.key == "component" || f.key == "msg")
        j["field_" + f.key] = to_json(f.value);
      else
        j[f.key] = to_json(f.value);
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  std::string line = utc_timestamp();
  line += ' ';
  std::string lvl(level_name(level));
  for (auto& c : lvl) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  line += lvl;
  line += " [";
  line += component;
  line += "] ";
  line += msg;
  for (const auto& f : fields) {
    line += ' ';
    line += f.key;
    line += '=';
    line += human_value(f.value);
  }
  return line;
}

bool Logger::enabled(Level level) const {
  return sink_ && level != Level::off && level >= sink_->level;
}

void Logger::log(Level level, std::string_view msg, const Fields& fields) const {
  if (!enabled(level)) return;
  std::string line = render(sink_->format, level, component_, msg, fields);
  sink_->logger.log(static_cast<spdlog::level::level_enum>(static_cast<int>(level)),
                    spdlog::string_view_t(line.data(), line.size()));
  if (sink_->tee) sink_->tee(line);
}

void Logger::set_tee(std::function<void(const std::string&)> tee) const {
  if (sink_) sink_->tee = std::move(tee);
}

void Logger::flush() const {
  if (sink_) sink_->logger.flush();
}

}  // namespace pilot::log
