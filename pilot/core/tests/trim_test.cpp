#include "core/trim.hpp"

#include <catch2/catch.hpp>

TEST_CASE("trim: ASCII whitespace at both ends, nothing inside") {
  CHECK(pilot::trim(" \t\r\n\v\fa b\t \r\n") == "a b");
  CHECK(pilot::trim("x") == "x");
  CHECK(pilot::trim(" \n ").empty());
  CHECK(pilot::trim("").empty());
  static_assert(pilot::trim("  k = v ") == "k = v");
}
