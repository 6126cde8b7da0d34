#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "platform/platforms_list.hpp"

using namespace pilot::platform;

TEST_CASE("the embedded list is the fixture's list, in order") {
  auto text = pilot::read_file(PLATFORM_FIXTURES "/platforms-list-keys.json");
  REQUIRE(text);
  auto keys = nlohmann::json::parse(*text)["keys"].get<std::vector<std::string>>();
  auto embedded = embedded_platforms_list_keys();
  CHECK(std::vector<std::string>(embedded.begin(), embedded.end()) == keys);
}

TEST_CASE("a CouchDB view or an array of tags, names without '-' are dropped") {
  CHECK(parse_platforms_list(
            R"({"rows":[{"key":"x86_64-el9-gcc13-opt","value":1},{"key":"slc4_ia32_gcc34"}]})",
            "t") == std::vector<std::string>{"x86_64-el9-gcc13-opt"});
  CHECK(parse_platforms_list(R"(["a-b-c","old"])", "t") == std::vector<std::string>{"a-b-c"});
  CHECK_THROWS_WITH(parse_platforms_list("{", "/x/list.json"), Catch::Contains("/x/list.json"));
  CHECK_THROWS_WITH(parse_platforms_list(R"({"total":1})", "f"), Catch::Contains("rows"));
  CHECK_THROWS_WITH(parse_platforms_list(R"({"rows":[{"value":1}]})", "f"),
                    Catch::Contains("entry 0"));
  CHECK_THROWS_AS(parse_platforms_list("42", "f"), pilot::Error);
}

TEST_CASE("explicit file, else CVMFS under the root, else embedded") {
  pilot::TempDir root;
  auto embedded = load_platforms_list(root.path(), std::nullopt);
  CHECK(embedded.source == "embedded");
  CHECK(embedded.tags.size() == 112);  // 115 keys, 3 old-style
  auto cvmfs = root.path() / kCvmfsPlatformsList;
  std::filesystem::create_directories(cvmfs.parent_path());
  pilot::write_file_atomic(cvmfs, R"({"rows":[{"key":"x86_64_v2-el9-gcc99-opt"}]})");
  auto from_cvmfs = load_platforms_list(root.path(), std::nullopt);
  CHECK(from_cvmfs.source == cvmfs.string());
  CHECK(from_cvmfs.tags == std::vector<std::string>{"x86_64_v2-el9-gcc99-opt"});
  auto file = root.path() / "mine.json";
  pilot::write_file_atomic(file, R"(["x86_64_v3-el9-gcc1-opt"])");
  CHECK(load_platforms_list(root.path(), file).tags ==
        std::vector<std::string>{"x86_64_v3-el9-gcc1-opt"});
  CHECK_THROWS_WITH(load_platforms_list(root.path(), root.path() / "absent.json"),
                    Catch::Contains("absent.json"));
  // A broken CVMFS copy must not stop the probe.
  pilot::write_file_atomic(cvmfs, "<html>503</html>");
  auto broken = load_platforms_list(root.path(), std::nullopt);
  CHECK(broken.source == "embedded");
  REQUIRE(broken.warnings.size() == 1);
  CHECK_THAT(broken.warnings[0], Catch::Contains("platforms-list.json"));
}
