#pragma once
// The pilot's log: one sink per process (stderr and optionally a file), human or JSON-lines
// format, and cheap Logger values that stamp a component name on each line. Loggers are passed
// explicitly to whatever logs; there is no global logger.
//
// JSON lines have the fields ts (UTC, ISO 8601 with milliseconds), level, component, msg, and
// every structured field given with the message, e.g.
//   {"ts":"2026-11-25T10:43:20.123Z","level":"info","component":"agent","msg":"job
//   matched","job_id":42}

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pilot::log {

enum class Level { trace, debug, info, warn, error, off };
enum class Format { human, json };

// Throws pilot::Error naming the accepted values.
Level parse_level(std::string_view text);
Format parse_format(std::string_view text);
std::string_view level_name(Level level);

// Now, UTC, ISO 8601 with milliseconds: "2026-11-25T10:43:20.123Z" (the `ts` of log lines).
std::string utc_timestamp();

struct Options {
  Format format = Format::human;
  Level level = Level::info;
  bool to_stderr = true;
  std::filesystem::path file;  // empty: no file; appended to, created 0644
};

using Value = std::variant<std::string, std::int64_t, double, bool>;
struct Field {
  std::string key;
  Value value;
  Field(std::string k, std::string v) : key(std::move(k)), value(std::move(v)) {}
  Field(std::string k, const char* v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, std::string_view v) : key(std::move(k)), value(std::string(v)) {}
  Field(std::string k, bool v) : key(std::move(k)), value(v) {}
  Field(std::string k, double v) : key(std::move(k)), value(v) {}
  template <typename I>
  requires std::is_integral_v<I> Field(std::string k, I v)
      : key(std::move(k)), value(static_cast<std::int64_t>(v)) {}
  // An absent figure is logged as "unknown", never as a sentinel number a reader takes for one.
  template <typename T>
  Field(std::string k, const std::optional<T>& v)
      : Field(v ? Field(std::move(k), *v) : Field(std::move(k), "unknown")) {}
};
using Fields = std::vector<Field>;

class Sink;  // defined in log.cpp; owns the spdlog logger and its outputs

// Opens the outputs of `options`; throws pilot::Error if the log file cannot be opened.
std::shared_ptr<Sink> make_sink(const Options& options);

// Renders one line as the sink would, without the trailing newline; used by tests and by the
// PilotLogging shipper, which needs the same text the local log has.
std::string render(Format format, Level level, std::string_view component, std::string_view msg,
                   const Fields& fields);

class Logger {
 public:
  Logger() = default;  // discards everything
  Logger(std::shared_ptr<Sink> sink, std::string component)
      : sink_(std::move(sink)), component_(std::move(component)) {}

  Logger child(std::string component) const { return Logger(sink_, std::move(component)); }
  const std::string& component() const { return component_; }
  bool enabled(Level level) const;

  void log(Level level, std::string_view msg, const Fields& fields = {}) const;
  void trace(std::string_view msg, const Fields& fields = {}) const {
    log(Level::trace, msg, fields);
  }
  void debug(std::string_view msg, const Fields& fields = {}) const {
    log(Level::debug, msg, fields);
  }
  void info(std::string_view msg, const Fields& fields = {}) const {
    log(Level::info, msg, fields);
  }
  void warn(std::string_view msg, const Fields& fields = {}) const {
    log(Level::warn, msg, fields);
  }
  void error(std::string_view msg, const Fields& fields = {}) const {
    log(Level::error, msg, fields);
  }
  void flush() const;
  // Every line written through this logger's sink (any component) is also passed to `tee`, e.g.
  // to ship the pilot's log to a server. Set it before other threads log; it must not log itself.
  void set_tee(std::function<void(const std::string& line)> tee) const;

 private:
  std::shared_ptr<Sink> sink_;
  std::string component_;
};

}  // namespace pilot::log
