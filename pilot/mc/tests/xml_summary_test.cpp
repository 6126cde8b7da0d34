#include <catch2/catch.hpp>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "mc/xml_summary.hpp"

using pilot::mc::parse_xml_summary;

namespace {
const char* kFinal = R"(<?xml version="1.0" encoding="UTF-8"?>
<summary version="1.0" xsi:noNamespaceSchemaLocation="$XMLSUMMARYBASEROOT/xml/XMLSummary.xsd"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <success>True</success>
  <step>finalize</step>
  <usage><stat unit="KB" useOf="MemoryMaximum">1270356.0</stat></usage>
  <input />
  <output>
    <file GUID="" name="PFN:00012345_00000001_1.sim" status="full">250</file>
    <file GUID="" name="PFN:GaussHistos.root" status="full">250</file>
  </output>
  <counters>
    <counter name="GaussGen.GenerationAlg/GenEvents">250</counter>
    <counter name="bad">x</counter>
  </counters>
  <lumiCounters />
</summary>)";
}

TEST_CASE("a finalised Gaudi summary gives success, step, files and events") {
  auto s = parse_xml_summary(kFinal);
  CHECK(s.success);
  CHECK(s.step == "finalize");
  REQUIRE(s.outputs.size() == 2);
  CHECK(s.outputs[0].name == "PFN:00012345_00000001_1.sim");
  CHECK(s.outputs[0].status == "full");
  CHECK(s.finalised());
  CHECK(s.events() == 500);
  CHECK(s.counters.at("GaussGen.GenerationAlg/GenEvents") == 250);
  CHECK(s.counters.count("bad") == 0);
}

TEST_CASE("with input files, events are the input counts") {
  auto s = parse_xml_summary(R"(<summary><success>True</success><step>finalize</step>
    <input><file GUID="a" name="LFN:/lhcb/x.dst" status="full">1000</file></input>
    <output><file GUID="" name="PFN:y.dst" status="full">37</file></output></summary>)");
  CHECK(s.events() == 1000);
  CHECK(s.finalised());
}

TEST_CASE("not finalised: failure, an earlier step, or a partial file") {
  CHECK_FALSE(parse_xml_summary("<summary><success>False</success><step>finalize</step></summary>")
                  .finalised());
  CHECK_FALSE(parse_xml_summary("<summary><success>True</success><step>execute</step></summary>")
                  .finalised());
  CHECK_FALSE(parse_xml_summary(R"(<summary><success>True</success><step>finalize</step>
    <output><file name="a" status="part">3</file></output></summary>)")
                  .finalised());
}

TEST_CASE("broken summaries are errors naming the file") {
  CHECK_THROWS_WITH(parse_xml_summary("<summary><success>True</succ", "s.xml"),
                    Catch::Contains("s.xml") && Catch::Contains("offset"));
  CHECK_THROWS_WITH(parse_xml_summary("<other/>", "s.xml"), Catch::Contains("no <summary>"));
  CHECK_THROWS_WITH(
      parse_xml_summary(
          R"(<summary><output><file name="f" status="full">-4</file></output></summary>)", "s.xml"),
      Catch::Contains("file f"));
  CHECK_THROWS_AS(parse_xml_summary(std::string("\xff\xfe\x00garbage", 10)), pilot::Error);
}

TEST_CASE("find_xml_summary prefers the named file, else the newest summary*.xml") {
  pilot::TempDir dir("xs-test");
  CHECK_FALSE(pilot::mc::find_xml_summary(dir.path()).has_value());
  pilot::write_file_atomic(dir.path() / "summaryOld.xml", kFinal);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pilot::write_file_atomic(dir.path() / "summaryNew.xml", kFinal);
  pilot::write_file_atomic(dir.path() / "named.xml", kFinal);
  CHECK(pilot::mc::find_xml_summary(dir.path())->filename() == "summaryNew.xml");
  CHECK(pilot::mc::find_xml_summary(dir.path(), "named.xml")->filename() == "named.xml");
  CHECK(pilot::mc::find_xml_summary(dir.path(), "missing.xml")->filename() == "summaryNew.xml");
  CHECK(pilot::mc::read_xml_summary(dir.path() / "named.xml")->events() == 500);
}

TEST_CASE("event counts adding up beyond 64 bits are refused") {
  // Found by fuzzing: events() overflowed (signed overflow, a negative count in release builds).
  CHECK_THROWS_WITH(
      parse_xml_summary(R"(<summary><output><file name="a" status="full">9223372036854775807</file>
    <file name="b" status="full">1</file></output></summary>)",
                        "s.xml"),
      "s.xml: the event counts of <output> add up to more than 2^63");
}
