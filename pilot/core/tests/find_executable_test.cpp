#include "core/find_executable.hpp"

#include <catch2/catch.hpp>
#include <string>

#include "core/fs.hpp"

namespace fs = std::filesystem;

namespace {
void executable(const fs::path& p) {
  pilot::write_file_atomic(p, "#!/bin/sh\n", 0755);
}
}  // namespace

TEST_CASE("find_executable: PATH entries in order, as execvp finds a command") {
  pilot::TempDir dir("find-exe");
  fs::create_directories(dir.path() / "a");
  fs::create_directories(dir.path() / "b/tool");  // a directory of that name is no command
  executable(dir.path() / "b/other");
  pilot::write_file_atomic(dir.path() / "a/tool", "not executable", 0644);
  fs::create_directories(dir.path() / "c");
  executable(dir.path() / "c/tool");
  std::string path = (dir.path() / "a").string() + ":" + (dir.path() / "b").string() + ":" +
                     (dir.path() / "c").string();
  CHECK(pilot::find_executable("tool", path.c_str()) == dir.path() / "c/tool");
  CHECK(pilot::find_executable("other", path.c_str()) == dir.path() / "b/other");
  CHECK_FALSE(pilot::find_executable("missing", path.c_str()));
  // A name with a '/' is the caller's path, unchecked.
  CHECK(pilot::find_executable("./nowhere/x", path.c_str()) == fs::path("./nowhere/x"));
  // Unset PATH: the default list, which holds sh on every Debian and EL node.
  CHECK(pilot::find_executable("sh", nullptr).has_value());
  CHECK(pilot::kDefaultPath == "/usr/local/bin:/usr/bin:/bin");
}

TEST_CASE("find_executable: an empty PATH entry is the current directory") {
  pilot::TempDir dir("find-exe");
  executable(dir.path() / "here-only");
  auto cwd = fs::current_path();
  fs::current_path(dir.path());
  auto found = pilot::find_executable("here-only", "/nonexistent::/also-not");
  auto leading = pilot::find_executable("here-only", ":/nonexistent");
  fs::current_path(cwd);
  CHECK(found == fs::path(".") / "here-only");
  CHECK(leading == fs::path(".") / "here-only");
}
