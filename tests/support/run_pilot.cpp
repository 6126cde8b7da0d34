#include "run_pilot.hpp"

#include "core/error.hpp"
#include "core/run_command.hpp"

namespace pilot::test {

std::string pilot_binary() {
  return PILOT_BIN;
}

PilotRun run_pilot(const std::vector<std::string>& args,
                   const std::map<std::string, std::string>& env,
                   std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{pilot_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  CommandOptions o;
  o.timeout = timeout;
  o.set_env = env;
  o.max_output = 64 << 20;
  auto r = run_command(argv, o);
  if (!r) throw Error("the pilot binary is missing: " + pilot_binary());
  return {r->exit_code.value_or(-1), std::move(r->out), std::move(r->err)};
}

}  // namespace pilot::test
