// Capped payload output: head and tail kept, the drop noted, the last lines in memory.
#include <catch2/catch.hpp>

#include "core/fs.hpp"
#include "jobwrapper/capped_output.hpp"

namespace jw = pilot::jobwrapper;

TEST_CASE("output below the cap is kept whole") {
  pilot::TempDir d("jwcap");
  jw::CappedOutput o(d.path() / "std.out", 1000, 2);
  o.append("one\ntwo\n");
  o.append("three\nfour");
  o.finish();
  CHECK(*pilot::read_file(d.path() / "std.out") == "one\ntwo\nthree\nfour");
  CHECK(o.dropped_bytes() == 0);
  CHECK(o.total_bytes() == 18);
  CHECK(o.peek() == "three\nfour");
  CHECK_FALSE(std::filesystem::exists(o.tail_path()));
}

TEST_CASE("output above the cap keeps the head and the tail and says what was dropped") {
  pilot::TempDir d("jwcap");
  jw::CappedOutput o(d.path() / "std.out", 100, 3);
  std::string all = "HEAD-START\n";
  for (int i = 0; i < 1000; ++i) all += "line " + std::to_string(i) + "\n";
  all += "THE-END\n";
  // Odd chunk sizes so the ring wraps at arbitrary places.
  for (std::size_t pos = 0; pos < all.size(); pos += 37)
    o.append(std::string_view(all).substr(pos, 37));
  o.finish();
  auto kept = *pilot::read_file(d.path() / "std.out");
  CHECK(o.total_bytes() == all.size());
  CHECK(o.dropped_bytes() == all.size() - 100);
  CHECK(kept.starts_with(all.substr(0, 50)));
  CHECK(kept.ends_with(all.substr(all.size() - 50)));
  CHECK_THAT(kept, Catch::Contains("[pilot: " + std::to_string(all.size() - 100) +
                                   " bytes of output dropped here"));
  CHECK(o.peek() == "line 998\nline 999\nTHE-END\n");
  CHECK_FALSE(std::filesystem::exists(o.tail_path()));
  o.finish();  // idempotent
  CHECK(*pilot::read_file(d.path() / "std.out") == kept);
}

TEST_CASE("a single chunk larger than the whole cap still keeps both ends") {
  pilot::TempDir d("jwcap");
  jw::CappedOutput o(d.path() / "std.out", 10, 1);
  o.append("0123456789abcdefghijklmnopqrstuvwxyz");
  o.finish();
  auto kept = *pilot::read_file(d.path() / "std.out");
  CHECK(kept.starts_with("01234\n[pilot: 26 bytes"));
  CHECK(kept.ends_with("]\nvwxyz"));
}

TEST_CASE("no cap means everything is written") {
  pilot::TempDir d("jwcap");
  jw::CappedOutput o(d.path() / "std.out", 0, 0);
  std::string big(300000, 'x');
  o.append(big);
  o.finish();
  CHECK(pilot::read_file(d.path() / "std.out")->size() == big.size());
  CHECK(o.peek().empty());
}

TEST_CASE("an output file that cannot be created is an error naming it") {
  CHECK_THROWS_WITH(jw::CappedOutput("/nonexistent-dir/std.out", 10, 1),
                    Catch::Contains("/nonexistent-dir/std.out"));
}
