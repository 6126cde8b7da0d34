#include <iostream>

#include "cli.hpp"
#include "core/error.hpp"
#include "core/trace.hpp"
#include "core/version.hpp"
#include "jobwrapper/keeper.hpp"

int main(int argc, char** argv) {
  // ci/bench's start-up breakdown: from its exec of the binary to here.
  pilot::trace::add("main", {});
  // The payload keeper is this binary re-executed by the supervisor: it starts before anything
  // else so that what it holds is only what it needs (jobwrapper/keeper.hpp).
  if (argc > 1 && argv[1] == pilot::jobwrapper::kKeeperCommand)
    return pilot::jobwrapper::keeper_main(argc, argv);
  pilot::cli::Cli cli;
  cli.app.set_version_flag("--version", pilot::version());
  pilot::cli::add_version_command(cli);
  pilot::cli::add_userdata_command(cli);
  pilot::cli::add_exec_command(cli);
  pilot::cli::add_features_command(cli);
  pilot::cli::add_queue_command(cli);
  pilot::cli::add_platform_command(cli);
  pilot::cli::add_run_command(cli);
  pilot::cli::add_dirac_command(cli);
  pilot::cli::add_status_command(cli);

  try {
    cli.app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    auto rest = cli.app.remaining();
    if (cli.app.get_subcommands().empty() && !rest.empty() && !rest.front().starts_with("-"))
      msg = "unknown subcommand '" + rest.front() + "'";
    std::cerr << "pilot: error: " << msg << " (see 'pilot --help')\n";
    return pilot::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "pilot: error: " << e.what() << '\n';
    return pilot::cli::kExitUsage;
  }
  if (auto subs = cli.app.get_subcommands(); !subs.empty())
    pilot::trace::set_process(subs.front()->get_name().c_str());
  try {
    return cli.run();
  } catch (const std::exception& e) {
    std::cerr << "pilot " << cli.app.get_subcommands().front()->get_name()
              << ": error: " << e.what() << '\n';
    return 1;
  }
}
