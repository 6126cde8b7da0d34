// Gaudi XML summary reading (pilot/mc): any bytes give a summary or pilot::Error naming the
// source; counts are never negative and the derived figures (events, finalised, JSON) never
// overflow or throw anything else.

#include <optional>

#include "core/error.hpp"
#include "fuzz_target.hpp"
#include "mc/xml_summary.hpp"

using namespace pilot::mc;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = pilot::fuzz::as_text(data, size);
  std::optional<XmlSummary> s;
  try {
    s = parse_xml_summary(in, "fuzz.xml");
  } catch (const pilot::Error& e) {
    FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz.xml: "), e.what());
    return 0;
  }
  for (const auto* files : {&s->inputs, &s->outputs})
    for (const auto& f : *files) FUZZ_CHECK(f.events >= 0, f.name);
  FUZZ_CHECK(s->events() >= 0, std::to_string(s->events()));
  (void)s->finalised();
  (void)to_json(*s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
