// zstd-compressed files: what the job wrapper does to std.out and std.err.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "core/fs.hpp"
#include "core/zstd_file.hpp"

TEST_CASE("zstd compression round-trips and corrupt or truncated files are errors") {
  pilot::TempDir d("jwzst");
  std::string data;
  for (int i = 0; i < 200000; ++i) data += "line " + std::to_string(i) + "\n";
  pilot::write_file_atomic(d.path() / "std.out", data);
  auto z = pilot::compress_file_zstd(d.path() / "std.out");
  CHECK(z == d.path() / "std.out.zst");
  CHECK_FALSE(std::filesystem::exists(d.path() / "std.out"));
  CHECK(std::filesystem::file_size(z) < data.size() / 4);
  CHECK(pilot::read_zstd_file(z) == data);
  auto bytes = *pilot::read_file(z);
  pilot::write_file_atomic(d.path() / "cut.zst", bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_WITH(pilot::read_zstd_file(d.path() / "cut.zst"), Catch::Contains("cut.zst"));
  pilot::write_file_atomic(d.path() / "junk.zst", "not zstd at all");
  CHECK_THROWS_WITH(pilot::read_zstd_file(d.path() / "junk.zst"), Catch::Contains("junk.zst"));
  CHECK_THROWS_WITH(pilot::compress_file_zstd(d.path() / "missing"), Catch::Contains("missing"));
}
