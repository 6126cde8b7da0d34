// `pilot userdata` end to end: what the command checks before writing the VM's user-data.
#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "run_pilot.hpp"

TEST_CASE("pilot userdata checks the pilot configuration before it reaches a VM") {
  pilot::TempDir dir("userdata");
  pilot::write_file_atomic(dir.path() / "bad.json", R"({"queue_dri": "/q"})");
  auto r =
      pilot::test::run_pilot({"userdata", "--config", (dir.path() / "bad.json").string(),
                              "--binary-url", "https://x/pilot", "--sha256", std::string(64, '0')});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("unknown configuration option 'queue_dri'"));
  pilot::write_file_atomic(dir.path() / "good.json", R"({"queue_dir": "/q"})");
  r = pilot::test::run_pilot({"userdata", "--config", (dir.path() / "good.json").string(),
                              "--binary-url", "https://x/pilot", "--sha256", std::string(64, '0')});
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("#cloud-config"));
}
