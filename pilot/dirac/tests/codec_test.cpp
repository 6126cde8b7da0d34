#include <catch2/catch.hpp>

#include "core/error.hpp"
#include "dirac/codec.hpp"

using namespace pilot::dirac;

namespace {
std::string error_of(std::string_view data) {
  try {
    ddecode(data);
  } catch (const pilot::Error& e) {
    return e.what();
  }
  return "no error";
}
}  // namespace

TEST_CASE("DEncode: the spec's example, with UTF-8 byte lengths") {
  Value v = list({1, 2.5, "h\xc3\xa9llo", nullptr, true, dict({{"a", list({1, "b"})}})});
  CHECK(dencode(v) == "li1ef2.5es6:h\xc3\xa9llonb1ds1:ali1es1:beee");
  CHECK(ddecode("li1ef2.5es6:h\xc3\xa9llonb1ds1:ali1es1:beee") == v);
}

TEST_CASE("DEncode: the spec's requestJob proposal and argument frames") {
  Value proposal = s_ok(list({list({"WorkloadManagement/Matcher", "Test-Setup", "testvo"}),
                              list({"RPC", "requestJob"}), "", "v9.0.0"}));
  std::string p = dencode(proposal);
  CHECK(std::to_string(p.size()) + ":" + p ==
        "108:ds2:OKb1s5:Valuells26:WorkloadManagement/Matchers10:Test-Setups6:testvoels3:RPCs10:"
        "requestJobes0:s6:v9.0.0ee");
  Value args = s_ok(list({dict({{"Site", "DIRAC.Test.ch"}, {"CPUTime", 86400}})}));
  std::string a = dencode(args);
  CHECK(std::to_string(a.size()) + ":" + a ==
        "62:ds2:OKb1s5:Valuelds4:Sites13:DIRAC.Test.chs7:CPUTimei86400eeee");
  CHECK(ddecode(p) == proposal);
  CHECK(ddecode(a) == args);
}

TEST_CASE("DEncode: scalars as DIRAC writes them") {
  CHECK(dencode(0) == "i0e");
  CHECK(dencode(-42) == "i-42e");
  CHECK(dencode(false) == "b0");
  CHECK(dencode(nullptr) == "n");
  CHECK(dencode("") == "s0:");
  CHECK(dencode(tuple({1, "x"})) == "ti1es1:xe");
  CHECK(dencode(Bytes{std::string("\x00\xff", 2)}) == std::string("s2:\x00\xff", 5));
  CHECK(ddecode("I123456789012e") == Value(123456789012LL));
  CHECK(ddecode("u3:abc") == Value("abc"));
  CHECK(ddecode("b1") == Value(true));
  CHECK(ddecode("i99999999999999999999999e") == Value(BigInt{"99999999999999999999999"}));
  CHECK(dencode(ddecode("i99999999999999999999999e")) == "i99999999999999999999999e");
  // Leading zeros are dropped as Python's int() does, so JSON can carry the value (fuzzing found
  // json_encode throwing a non-pilot exception on "0099...").
  CHECK(ddecode("I-0099999999999999999999e") == Value(BigInt{"-99999999999999999999"}));
  CHECK(json_encode(ddecode("i+0018446744073709551615e")) == "18446744073709551615");
}

TEST_CASE("DEncode: floats are Python's repr") {
  CHECK(python_float_repr(2.5) == "2.5");
  CHECK(python_float_repr(2.0) == "2.0");
  CHECK(python_float_repr(1e-10) == "1e-10");
  CHECK(python_float_repr(0.1) == "0.1");
  CHECK(python_float_repr(1e16) == "1e+16");
  CHECK(python_float_repr(1.5e-5) == "1.5e-05");
  CHECK(python_float_repr(123456.789) == "123456.789");
  CHECK(python_float_repr(0.0001) == "0.0001");
  CHECK(python_float_repr(1e15) == "1000000000000000.0");
  CHECK(python_float_repr(-3.14) == "-3.14");
  CHECK(python_float_repr(1.0 / 3) == "0.3333333333333333");
  CHECK(dencode(1e-10) == "f1e-10e");
  CHECK(ddecode("f1e-10e") == Value(1e-10));
  CHECK(ddecode("f1e+20e") == Value(1e20));
  CHECK(ddecode("f2.5e") == Value(2.5));
  CHECK(ddecode("lf1.5e-05ef3ee") == Value(list({1.5e-5, 3.0})));
}

TEST_CASE("DEncode: datetimes, dates and times as DIRAC's tuples") {
  DateTime t{2026, 11, 25, 10, 43, 20, 123456};
  CHECK(dencode(t) == "zati2026ei11ei25ei10ei43ei20ei123456ene");
  CHECK(ddecode("zati2026ei11ei25ei10ei43ei20ei123456ene") == Value(t));
  CHECK(dencode(Date{2026, 1, 2}) == "zdti2026ei1ei2ee");
  CHECK(ddecode("zdti2026ei1ei2ee") == Value(Date{2026, 1, 2}));
  CHECK(dencode(Time{1, 2, 3, 0}) == "ztti1ei2ei3ei0ene");
  CHECK(ddecode("ztti1ei2ei3ei4ene") == Value(Time{1, 2, 3, 4}));
}

TEST_CASE("DEncode and JSON: nested values round-trip") {
  Dict deep = dict({{"jobs", list({dict({{"JobID", 7}, {"Tags", list({"a", "b"})}}), nullptr})},
                    {"ratio", 0.25},
                    {"when", DateTime{2026, 11, 25, 1, 2, 3, 0}},
                    {"day", Date{2026, 11, 25}},
                    {"unicode", "\xe2\x82\xac uro"}});
  deep.items.emplace_back(Value(42), Value("int key"));
  deep.items.emplace_back(Value(tuple({1, 2})), Value(false));
  CHECK(ddecode(dencode(deep)) == Value(deep));

  Dict j = deep;
  j.items.pop_back();  // tuple keys exist only in DEncode
  // bytes travel as str in DEncode (as in DIRAC), as a b64 object in JSON
  j.items.emplace_back(Value("blob"), Value(Bytes{std::string("\x00\x01\xfe", 3)}));
  Value back = json_decode(json_encode(j));
  const Dict& d = back.as_dict();
  CHECK(*d.find("ratio") == Value(0.25));
  CHECK(*d.find("when") == Value(DateTime{2026, 11, 25, 1, 2, 3, 0}));
  CHECK(*d.find("day") == Value(Date{2026, 11, 25}));
  CHECK(*d.find("blob") == Value(Bytes{std::string("\x00\x01\xfe", 3)}));
  CHECK(*d.find("42") == Value("int key"));  // dict int keys arrive as strings
  CHECK(d.find("jobs")->as_sequence()[0].as_dict().find("Tags")->as_sequence()[1] == Value("b"));
  CHECK(json_encode(DateTime{2026, 11, 25, 1, 2, 3, 5}) ==
        R"({"__dCls":"dt","obj":"2026-11-25 01:02:03"})");
  CHECK(json_encode(tuple({1, "a"})) == R"([1,"a"])");
  Dict list_key;
  list_key.items.emplace_back(Value(list({})), Value(1));
  CHECK_THROWS_WITH(json_encode(list_key), Catch::Contains("dict key of type list"));
}

TEST_CASE("Mixed decoding: DEncode first, JSON second") {
  CHECK(mixed_decode("ds2:OKb1e") == Value(dict({{"OK", true}})));
  CHECK(mixed_decode(R"({"OK": true, "Value": [1, 2]})") ==
        Value(dict({{"OK", true}, {"Value", list({1, 2})}})));
  CHECK_THROWS_WITH(mixed_decode("<html>"), Catch::Contains("neither DEncode nor JSON"));
}

TEST_CASE("DEncode: garbage and truncated input fail cleanly with the offset") {
  CHECK(error_of("") == "DEncode: empty input");
  CHECK(
      error_of("x") ==
      "DEncode: at offset 0: expected a type letter (i, I, f, b, n, s, u, l, t, d, z), found 'x'");
  CHECK(error_of("i12") ==
        "DEncode: at offset 3: expected an integer terminated by 'e', found end of data (truncated "
        "input)");
  CHECK(error_of("i1x2e") == "DEncode: at offset 1: expected an integer, found '1x2'");
  CHECK(error_of("s10:abc") ==
        "DEncode: at offset 1: expected a string of 10 bytes, found only 3 bytes left (truncated "
        "input)");
  CHECK(error_of("li1e") ==
        "DEncode: at offset 4: expected a value or 'e', found end of data (truncated input)");
  CHECK(error_of("ds1:a") ==
        "DEncode: at offset 5: expected a value, found end of data (truncated input)");
  CHECK(error_of("i1ei2e") == "DEncode: at offset 3: expected end of data, found trailing bytes");
  CHECK_THAT(error_of("fabce"), Catch::Contains("expected a float"));
  CHECK_THAT(error_of("zq"), Catch::Contains("'a', 'd' or 't' after 'z'"));
  CHECK_THAT(error_of("zati2026ei13ei1ee"), Catch::Contains("valid date/time tuple"));
  CHECK_THAT(error_of("s99999999999999999999999:"), Catch::Contains("string length"));
  CHECK_THAT(error_of(std::string(500, 'l')), Catch::Contains("nesting of at most 100 levels"));
  CHECK_THAT(error_of("i" + std::string(5000, '1') + "e"), Catch::Contains("at most 4300"));
  // Every prefix of a valid encoding fails cleanly, none crashes or succeeds by accident.
  std::string full = dencode(dict({{"a", list({1, 2.5, "x", DateTime{2026, 1, 1, 0, 0, 0, 0}})}}));
  for (std::size_t n = 1; n < full.size(); ++n)
    CHECK_THROWS_AS(ddecode(full.substr(0, n)), pilot::Error);
  CHECK_THROWS_WITH(json_decode(std::string(200, '[')), Catch::Contains("nesting deeper"));
  CHECK_THROWS_WITH(json_decode(R"({"__dCls": "dt", "obj": "yesterday"})"),
                    Catch::Contains("__dCls dt"));
  CHECK_THROWS_WITH(json_decode("{\"a\": "), Catch::Contains("JSON: "));
}
