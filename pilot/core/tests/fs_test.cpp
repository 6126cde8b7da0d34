#include <fcntl.h>
#include <sys/stat.h>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace fs = std::filesystem;

TEST_CASE("read_file returns contents, nullopt for a missing file, throws for a directory") {
  pilot::TempDir dir("fs-test");
  auto f = dir.path() / "a.txt";
  std::ofstream(f) << "hello\nworld";
  CHECK(pilot::read_file(f) == "hello\nworld");
  CHECK_FALSE(pilot::read_file(dir.path() / "missing").has_value());
  CHECK_FALSE(pilot::read_file(dir.path() / "missing" / "below").has_value());
  CHECK_THROWS_WITH(pilot::read_file(dir.path()), Catch::Contains(dir.path().string()));
}

TEST_CASE("read_file refuses files above the size guard and names them") {
  pilot::TempDir dir("fs-test");
  auto f = dir.path() / "big";
  std::ofstream(f) << std::string(100, 'x');
  CHECK_THROWS_WITH(pilot::read_file(f, 10),
                    Catch::Contains("too large") && Catch::Contains("big"));
}

TEST_CASE("write_file_atomic replaces the file, applies the mode and leaves no temporary file") {
  pilot::TempDir dir("fs-test");
  auto f = dir.path() / "job.json";
  pilot::write_file_atomic(f, "one", 0600);
  pilot::write_file_atomic(f, "two", 0600);
  CHECK(pilot::read_file(f) == "two");
  struct stat st {};
  REQUIRE(::stat(f.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir.path())) entries += e.is_regular_file();
  CHECK(entries == 1);
}

TEST_CASE("write_file_atomic into a missing directory fails with the directory in the message") {
  pilot::TempDir dir("fs-test");
  CHECK_THROWS_WITH(pilot::write_file_atomic(dir.path() / "no" / "x", "data"),
                    Catch::Contains((dir.path() / "no").string()));
}

TEST_CASE("TempDir removes its tree, UniqueFd closes its descriptor") {
  fs::path kept;
  int fd = -1;
  {
    pilot::TempDir dir("fs-test");
    kept = dir.path();
    fs::create_directories(kept / "a" / "b");
    std::ofstream(kept / "a" / "b" / "c") << "x";
    pilot::UniqueFd owned(::open(kept.c_str(), O_RDONLY | O_DIRECTORY));
    fd = owned.get();
    REQUIRE(fd >= 0);
  }
  CHECK_FALSE(fs::exists(kept));
  CHECK(::fcntl(fd, F_GETFD) == -1);
}

TEST_CASE("replace_file replaces the contents at once and leaves no temporary file") {
  pilot::TempDir dir("fs");
  auto f = dir.path() / "pilot.prom";
  pilot::replace_file(f, "one\n");
  pilot::replace_file(f, "two\n", 0600);
  CHECK(pilot::read_file(f) == std::optional<std::string>("two\n"));
  CHECK((std::filesystem::status(f).permissions() & std::filesystem::perms::all) ==
        (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
  CHECK_THROWS_WITH(pilot::replace_file(dir.path() / "missing" / "x.prom", "x"),
                    Catch::Contains("missing"));
}
