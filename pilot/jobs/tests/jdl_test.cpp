#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "core/error.hpp"
#include "jobs/jdl.hpp"

using pilot::jobs::Jdl;
using pilot::jobs::JdlLimits;
using pilot::jobs::JdlValue;
using pilot::jobs::parse_jdl;
using Kind = pilot::jobs::JdlValue::Kind;

namespace {

// The job of dirac-wire.md section 7, as seeded on a real DIRAC server.
const char* kDiracJob = R"([
  Executable = "/bin/echo";
  Arguments = "hello from DIRAC";
  JobName = "interop-test";
  JobType = "User";
  CPUTime = 3600;
  Priority = 1;
  StdOutput = "std.out";
  StdError = "std.err";
  OutputSandbox = { "std.out", "std.err" };
])";

const JdlValue& value(const Jdl& jdl, const char* name) {
  const auto* a = jdl.find(name);
  REQUIRE(a != nullptr);
  return a->value;
}

std::string error_of(std::string_view text, const JdlLimits& limits = {}) {
  try {
    parse_jdl(text, "job.jdl", limits);
  } catch (const pilot::Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("the DIRAC job of the spec parses with its types") {
  auto jdl = parse_jdl(kDiracJob);
  REQUIRE(jdl.attributes.size() == 9);
  CHECK(jdl.attributes[0].name == "Executable");
  CHECK(value(jdl, "Executable").kind == Kind::string);
  CHECK(value(jdl, "Executable").text == "/bin/echo");
  CHECK(value(jdl, "Arguments").text == "hello from DIRAC");
  CHECK(value(jdl, "CPUTime").kind == Kind::integer);
  CHECK(value(jdl, "CPUTime").integer == 3600);
  const auto& sandbox = value(jdl, "OutputSandbox");
  REQUIRE(sandbox.kind == Kind::list);
  REQUIRE(sandbox.list.size() == 2);
  CHECK(sandbox.list[1].text == "std.err");
  CHECK(jdl.attributes[4].line == 6);
  CHECK(jdl.attributes[4].column == 3);
}

TEST_CASE("attribute lookups ignore case, names keep their spelling") {
  auto jdl = parse_jdl("[ CpuTime = 5; stdOUTPUT = \"o\" ]");
  REQUIRE(jdl.find("CPUTime") != nullptr);
  CHECK(jdl.find("CPUTime")->name == "CpuTime");
  CHECK(jdl.find("stdoutput")->value.text == "o");
  CHECK(jdl.find("Missing") == nullptr);
}

TEST_CASE("string escapes") {
  auto jdl = parse_jdl(
      R"([ A = "q\"b\\s\n\t\r\'\/\?\a\b\f\v"; B = "\101\102\7"; C = "h\303\251llo"; D = "héllo"; E = ""; F = "tab	in" ])");
  CHECK(value(jdl, "A").text == "q\"b\\s\n\t\r'/?\a\b\f\v");
  CHECK(value(jdl, "B").text == "AB\a");
  CHECK(value(jdl, "C").text == "h\xc3\xa9llo");
  CHECK(value(jdl, "D").text == "h\xc3\xa9llo");
  CHECK(value(jdl, "E").text.empty());
  CHECK(value(jdl, "F").text == "tab\tin");
}

TEST_CASE("integers, reals and booleans, signed and quoted") {
  auto jdl = parse_jdl(
      "[ I = 42; N = -7; P = +3; R = 2.5; S = -1e-3; T = .5; X = 1E3; B1 = true; B2 = FALSE; Q = "
      "\"12\" ]");
  CHECK(value(jdl, "I").integer == 42);
  CHECK(value(jdl, "N").kind == Kind::integer);
  CHECK(value(jdl, "N").integer == -7);
  CHECK(value(jdl, "P").integer == 3);
  CHECK(value(jdl, "R").kind == Kind::real);
  CHECK(value(jdl, "R").real == 2.5);
  CHECK(value(jdl, "S").real == -0.001);
  CHECK(value(jdl, "T").real == 0.5);
  CHECK(value(jdl, "X").kind == Kind::real);
  CHECK(value(jdl, "X").real == 1000.0);
  CHECK(value(jdl, "B1").kind == Kind::boolean);
  CHECK(value(jdl, "B1").boolean);
  CHECK_FALSE(value(jdl, "B2").boolean);
  CHECK(value(jdl, "Q").kind == Kind::string);
}

TEST_CASE("lists: empty, mixed, nested, with expressions") {
  auto jdl = parse_jdl(
      R"([ E = {}; M = { "a", 1, 2.5, true }; N = { { "x", "y" }, {} }; X = { other.A, f(1, 2) } ])");
  CHECK(value(jdl, "E").kind == Kind::list);
  CHECK(value(jdl, "E").list.empty());
  const auto& m = value(jdl, "M").list;
  REQUIRE(m.size() == 4);
  CHECK(m[0].kind == Kind::string);
  CHECK(m[1].kind == Kind::integer);
  CHECK(m[2].kind == Kind::real);
  CHECK(m[3].kind == Kind::boolean);
  const auto& n = value(jdl, "N").list;
  REQUIRE(n.size() == 2);
  CHECK(n[0].list.size() == 2);
  CHECK(n[1].list.empty());
  const auto& x = value(jdl, "X").list;
  REQUIRE(x.size() == 2);
  CHECK(x[0].kind == Kind::expression);
  CHECK(x[0].text == "other.A");
  CHECK(x[1].text == "f(1, 2)");
}

TEST_CASE("nested blocks, as DIRAC's JobRequirements") {
  auto jdl = parse_jdl(R"([
    JobID = 12;
    JobRequirements = [ CPUTime = 86400; Sites = "ANY"; Inner = [ Deep = { 1 } ]; ];
    Empty = [];
  ])");
  const auto& req = value(jdl, "JobRequirements");
  REQUIRE(req.kind == Kind::block);
  REQUIRE(req.block.size() == 3);
  CHECK(req.block[0].name == "CPUTime");
  CHECK(req.block[0].value.integer == 86400);
  CHECK(req.block[2].value.block[0].value.list[0].integer == 1);
  CHECK(value(jdl, "Empty").block.empty());
  auto sub = pilot::jobs::jdl_block(jdl, "jobrequirements");
  REQUIRE(sub);
  CHECK(pilot::jobs::jdl_string(*sub, "Sites") == "ANY");
}

TEST_CASE("expressions are kept as source text") {
  auto jdl = parse_jdl(R"([
    Requirements = other.Site == "LCG.CERN.cern" && other.CPUTime >= 100;
    Rank = -other.EstimatedResponseTime;
    Sel = member("GPU", other.Tags) || (x =?= undefined) ? "a;b" : [ y = 1; ].y;
    Undef = undefined;
    Path = /bin/echo;
  ])");
  CHECK(value(jdl, "Requirements").kind == Kind::expression);
  CHECK(value(jdl, "Requirements").text ==
        R"(other.Site == "LCG.CERN.cern" && other.CPUTime >= 100)");
  CHECK(value(jdl, "Rank").text == "-other.EstimatedResponseTime");
  CHECK(value(jdl, "Sel").text ==
        R"(member("GPU", other.Tags) || (x =?= undefined) ? "a;b" : [ y = 1; ].y)");
  CHECK(value(jdl, "Undef").kind == Kind::expression);
  CHECK(value(jdl, "Path").text == "/bin/echo");
}

TEST_CASE("comments of the three kinds are skipped, also inside lists and expressions") {
  auto jdl = parse_jdl(R"(# a job
// written by hand
[
  A = 1; # trailing
  /* block
     comment */ B = { "x", /* inline */ "y" };  // end
  C = 1 + /* c */ 2;
])");
  CHECK(value(jdl, "A").integer == 1);
  CHECK(value(jdl, "B").list.size() == 2);
  CHECK(value(jdl, "C").text == "1 + /* c */ 2");
}

TEST_CASE("the outer brackets may be left out, and the last semicolon too") {
  auto jdl = parse_jdl("Executable = \"/bin/true\";\nCPUTime = 10;\n");
  CHECK(jdl.attributes.size() == 2);
  CHECK(parse_jdl("Executable = \"/bin/true\"").attributes.size() == 1);
  CHECK(parse_jdl("[ A = 1 ]").attributes.size() == 1);
  CHECK(parse_jdl("[]").attributes.empty());
}

TEST_CASE("malformed input names the source, line and column") {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "job.jdl:1:1: empty job description"},
      {"   \n  ", "job.jdl:2:3: empty job description"},
      {"[ A = 1; B = ; ]", "job.jdl:1:14: missing value for 'B'"},
      {"[ A = \"abc ]", "job.jdl:1:7: unterminated string"},
      {"[ A = \"ab\nc\" ]", "job.jdl:1:7: unterminated string (newline"},
      {"[ A = 1 B = 2 ]", "job.jdl:1:9: expected an operator or ';' between '1' and 'B'"},
      {"[ A = x B = 2 ]", "job.jdl:1:9: expected an operator or ';'"},
      {"[ A = x + B = 2 ]", "job.jdl:1:13: unexpected '=' in a value (missing ';'"},
      {"[ A == \"x\" ]", "job.jdl:1:6: unexpected '=' at the start of a value"},
      {"[ A = 1;", "job.jdl:1:9: missing ']' to close the block opened at 1:1"},
      {"[ A = (1 + 2; ]", "job.jdl:1:15: ']' does not close '(' opened at 1:7"},
      {"[ A = 1) ]", "job.jdl:1:8: unbalanced ')'"},
      {"[ A = \"x\\q\" ]", "job.jdl:1:9: unknown escape '\\q'"},
      {"[ A = \"x\\0\" ]", "job.jdl:1:9: NUL character"},
      {"[ A = 1 ] junk", "job.jdl:1:11: unexpected 'junk' after the closing ']'"},
      {"[ 1 = 2 ]", "job.jdl:1:3: expected an attribute name, found '1'"},
      {"[ A 2 ]", "job.jdl:1:5: expected '=' after 'A', found '2'"},
      {"[ A = 1; a = 2 ]", "job.jdl:1:10: attribute 'a' given twice (first at 1:3)"},
      {"[ A = { 1, 2 ]", "job.jdl:1:14: expected ',' or '}' in the list opened at 1:7, found ']'"},
      {"[ A = { 1, 2", "job.jdl:1:13: missing '}' to close the list opened at 1:7"},
      {"[ A = { 1, } ]", "job.jdl:1:12: missing value for 'A'"},
      {"[ A = { 1 } 2 ]", "job.jdl:1:13: unexpected '2' after a list or block"},
      {"[ A = @ ]", "job.jdl:1:7: unexpected character '@'"},
      {"[ A = 12abc ]", "job.jdl:1:7: malformed number"},
      {"[\n  A = 1;\n  B = $x;\n]", "job.jdl:3:7: unexpected character '$'"},
      {"[ A = 99999999999999999999 ]", "job.jdl:1:7: integer 99999999999999999999 out of range"},
      {"[ A = 1e999 ]", "job.jdl:1:7: real number 1e999 out of range"},
      {"[ A = 1; /* open", "job.jdl:1:10: unterminated comment"},
      {"[ A = \"\xff\" ]", "job.jdl:1:7: string is not valid UTF-8"},
      {"[ A = \"\\377\" ]", "job.jdl:1:7: string is not valid UTF-8"},
      {"[ A = \"a\x01\" ]", "job.jdl:1:9: control character '\\x01' in a string"},
      {"[ A = 1 ]\x00", "job.jdl:1:10: unexpected character '\\x00'"},
      {"[ A = (1 ", "job.jdl:1:7: '(' is never closed"},
      {"[ A = 1 ;; ]", "job.jdl:1:10: expected an attribute name, found ';'"},
      {"[ é = 1 ]", "job.jdl:1:3: unexpected character '\\xc3'"},
  };
  for (const auto& c : cases) {
    // Embedded NULs: the whole literal, not up to the first NUL.
    std::string text = c.text;
    if (std::string_view(c.message).find("\\x00") != std::string_view::npos)
      text = std::string("[ A = 1 ]\0", 10);
    INFO(text);
    CHECK_THAT(error_of(text), Catch::StartsWith(c.message));
  }
}

TEST_CASE("columns count characters, not UTF-8 bytes") {
  CHECK_THAT(error_of("[ A = \"é\" B = 1 ]"), Catch::StartsWith("job.jdl:1:11:"));
}

TEST_CASE("binary junk is rejected cleanly, never a crash") {
  std::mt19937 rng(20261125);
  int errors = 0;
  for (int round = 0; round < 500; ++round) {
    std::string junk(1 + rng() % 300, '\0');
    for (auto& c : junk) c = static_cast<char>(rng() % 256);
    if (round % 2) junk = "[ A = " + junk;  // junk where a value starts
    try {
      parse_jdl(junk, "junk");
    } catch (const pilot::Error& e) {
      CHECK_THAT(e.what(), Catch::StartsWith("junk:"));
      ++errors;
    }
  }
  CHECK(errors == 500);
}

TEST_CASE("mutations of a valid JDL parse or fail with an error, never crash") {
  std::mt19937 rng(7);
  std::string base = kDiracJob;
  for (int round = 0; round < 2000; ++round) {
    std::string text = base;
    for (int k = 0; k < 3; ++k) text[rng() % text.size()] = "[]{}();,=\"\\/*#x1 \n"[rng() % 18];
    try {
      parse_jdl(text, "mutant");
    } catch (const pilot::Error& e) {
      CHECK_THAT(e.what(), Catch::StartsWith("mutant:"));
    }
  }
}

TEST_CASE("limits: size, string length, depth and element count") {
  JdlLimits small;
  small.max_bytes = 1000;
  small.max_string_bytes = 100;
  small.max_depth = 5;
  small.max_elements = 50;
  CHECK_THAT(error_of("[ A = \"" + std::string(2000, 'x') + "\" ]", small),
             Catch::Contains(
                 "job.jdl: job description of 2010 bytes is larger than the limit of 1000 bytes"));
  CHECK_THAT(error_of("[ A = \"" + std::string(101, 'x') + "\" ]", small),
             Catch::StartsWith("job.jdl:1:7: string longer than the limit of 100 bytes"));
  CHECK_THAT(error_of("[ A = " + std::string(60, 'x') + " + " + std::string(60, 'y') + " ]", small),
             Catch::StartsWith("job.jdl:1:7: expression longer than the limit of 100 bytes"));
  CHECK_NOTHROW(parse_jdl("[ A = [ B = [ C = [ D = 1 ] ] ] ]", "ok", small));
  CHECK_THAT(error_of("[ A = [ B = [ C = [ D = [ E = [ F = 1 ] ] ] ] ] ]", small),
             Catch::Contains("nesting deeper than the limit of 5"));
  CHECK_THAT(error_of("[ A = {{{{{{1}}}}}} ]", small),
             Catch::Contains("nesting deeper than the limit of 5"));
  CHECK_THAT(error_of("[ A = ((((((1)))))) ]", small),
             Catch::Contains("nesting deeper than the limit of 5"));
  std::string many = "[ A = {";
  for (int i = 0; i < 60; ++i) many += (i ? ",1" : "1");
  CHECK_THAT(error_of(many + "} ]", small),
             Catch::Contains("more than 50 attributes and list elements"));
}

TEST_CASE("default limits stop a deeply nested or huge input without exhausting the stack") {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "[ A = ";
  CHECK_THAT(error_of(deep), Catch::Contains("nesting deeper than the limit of 32"));
  std::string lists = "[ A = " + std::string(100000, '{') + " ]";
  CHECK_THAT(error_of(lists), Catch::Contains("nesting deeper than the limit of 32"));
  CHECK_THAT(error_of(std::string(5 << 20, ' ')),
             Catch::Contains("larger than the limit of 4194304 bytes"));
  CHECK_THAT(error_of("[ A = \"" + std::string((1 << 20) + 1, 'x') + "\" ]"),
             Catch::Contains("string longer than the limit of 1048576 bytes"));
}

TEST_CASE("to_jdl_text writes JDL that parses back to the same values") {
  auto jdl = parse_jdl(
      R"([ S = "a\"b\\c\nd\001"; L = { "x", 2, { 3.5 } }; B = [ T = true; E = other.X > 1; ]; N = -4 ])");
  JdlValue block;
  block.kind = Kind::block;
  block.block = jdl.attributes;
  auto text = pilot::jobs::to_jdl_text(block);
  auto again = parse_jdl(text);
  CHECK(pilot::jobs::to_jdl_text(JdlValue{Kind::block, "", 0, 0, false, {}, again.attributes}) ==
        text);
  CHECK(value(again, "S").text == "a\"b\\c\nd\001");
  CHECK(value(again, "N").integer == -4);
  CHECK(value(again, "B").block[1].value.text == "other.X > 1");
}

TEST_CASE("typed readers accept DIRAC's quoted numbers and reject wrong types by name") {
  auto jdl = parse_jdl(
      R"([ P = "5"; R = "2.5"; B = "True"; S = 7; L = "a, b,,c"; E = ""; X = 3.0; Bad = { 1 }; Ex = a + b; Blk = [ Q = 1 ] ])");
  using namespace pilot::jobs;
  CHECK(jdl_integer(jdl, "P") == 5);
  CHECK(jdl_real(jdl, "R") == 2.5);
  CHECK(jdl_real(jdl, "S") == 7.0);
  CHECK(jdl_boolean(jdl, "B") == true);
  CHECK(jdl_string(jdl, "S") == "7");
  CHECK(jdl_integer(jdl, "X") == 3);
  CHECK(jdl_string_list(jdl, "L") == std::vector<std::string>{"a", "b", "c"});
  CHECK(jdl_string_list(jdl, "E")->empty());
  CHECK(jdl_string(jdl, "Missing") == std::nullopt);
  CHECK_THROWS_WITH(
      jdl_integer(jdl, "R"),
      Catch::Contains("JDL attribute R (line 1) must be an integer, not the string \"2.5\""));
  CHECK_THROWS_WITH(jdl_string(jdl, "Bad"),
                    Catch::Contains("Bad (line 1) must be a string, not the list { 1 }"));
  CHECK_THROWS_WITH(jdl_string(jdl, "Ex"), Catch::Contains("not the expression a + b"));
  CHECK_THROWS_WITH(jdl_boolean(jdl, "S"), Catch::Contains("must be true or false"));
  CHECK_THROWS_WITH(jdl_string_list(jdl, "Blk"),
                    Catch::Contains("must be a string or a list of strings"));
  CHECK_THROWS_WITH(jdl_block(jdl, "S"), Catch::Contains("must be a block"));
}
