#include "cli.hpp"

namespace pilot::cli {

Cli::Cli()
    : app("pilot: a static pilot agent for grid worker nodes and the LHCb HLT farm", "pilot") {
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();
  app.add_option("--log-format", global.log_format, "Log format")
      ->check(CLI::IsMember({"human", "json"}))
      ->envname("PILOT_LOG_FORMAT");
  app.add_option("--log-level", global.log_level, "Least severe level logged")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->envname("PILOT_LOG_LEVEL");
  app.add_option("--log-file", global.log_file, "Also append the log to this file")
      ->envname("PILOT_LOG_FILE");
}

log::Logger Cli::logger(std::string component) {
  if (!sink_) {
    log::Options o;
    o.format = log::parse_format(global.log_format);
    o.level = log::parse_level(global.log_level);
    o.file = global.log_file;
    sink_ = log::make_sink(o);
  }
  return log::Logger(sink_, std::move(component));
}

}  // namespace pilot::cli
