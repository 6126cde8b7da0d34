#include <catch2/catch.hpp>

#include "mjf/value.hpp"

using pilot::mjf::clean_value;
using pilot::mjf::parse_decimal;
using pilot::mjf::parse_integer;

TEST_CASE("values lose surrounding spaces, tabs, CR and LF") {
  CHECK(clean_value("  abc \t\r\n") == "abc");
  CHECK(clean_value("\n\n42\n") == "42");
  CHECK(clean_value("a b") == "a b");
}

TEST_CASE("empty and blank values are absent") {
  CHECK_FALSE(clean_value(""));
  CHECK_FALSE(clean_value(" \t\r\n "));
  CHECK_FALSE(parse_integer(""));
  CHECK_FALSE(parse_integer("\n"));
  CHECK_FALSE(parse_decimal("  "));
}

TEST_CASE("multi-line values are absent, not their first line") {
  CHECK_FALSE(clean_value("1\n2"));
  CHECK_FALSE(clean_value("1\r2"));
  CHECK_FALSE(parse_integer("1398790803\n1398790900\n"));
  CHECK_FALSE(parse_decimal("10.5\r\n11.5"));
}

TEST_CASE("integers must be [+-]?[0-9]+ entirely") {
  CHECK(parse_integer("1398790803") == 1398790803);
  CHECK(parse_integer(" 8\n") == 8);
  CHECK(parse_integer("+8") == 8);
  CHECK(parse_integer("-600") == -600);
  CHECK(parse_integer("007") == 7);
  CHECK(parse_integer("0") == 0);
  CHECK_FALSE(parse_integer("1398790803.78"));
  CHECK_FALSE(parse_integer("12abc"));
  CHECK_FALSE(parse_integer("abc"));
  CHECK_FALSE(parse_integer("1e9"));
  CHECK_FALSE(parse_integer("0x10"));
  CHECK_FALSE(parse_integer("+"));
  CHECK_FALSE(parse_integer("-"));
  CHECK_FALSE(parse_integer("1 2"));
  CHECK_FALSE(parse_integer("--1"));
  CHECK_FALSE(parse_integer("99999999999999999999"));  // does not fit 64 bits
  CHECK(parse_integer("-9223372036854775808") == INT64_MIN);
}

TEST_CASE("decimals accept plain decimal numbers only") {
  CHECK(parse_decimal("123.5") == Approx(123.5));
  CHECK(parse_decimal(" 80\n") == Approx(80.0));
  CHECK(parse_decimal(".5") == Approx(0.5));
  CHECK(parse_decimal("5.") == Approx(5.0));
  CHECK(parse_decimal("+1.25") == Approx(1.25));
  CHECK(parse_decimal("-3.5") == Approx(-3.5));
  CHECK_FALSE(parse_decimal("1e3"));
  CHECK_FALSE(parse_decimal("nan"));
  CHECK_FALSE(parse_decimal("inf"));
  CHECK_FALSE(parse_decimal("12,5"));
  CHECK_FALSE(parse_decimal("."));
  CHECK_FALSE(parse_decimal("1.2.3"));
  CHECK_FALSE(parse_decimal("10 HS06"));
}
