// The main of test executables that run payloads: the supervisor re-executes its own binary as
// the payload's keeper (jobwrapper/keeper.hpp), so a test binary is a keeper too.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "jobwrapper/keeper.hpp"

int main(int argc, char** argv) {
  if (argc > 1 && argv[1] == pilot::jobwrapper::kKeeperCommand)
    return pilot::jobwrapper::keeper_main(argc, argv);
  return Catch::Session().run(argc, argv);
}
