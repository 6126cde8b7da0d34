// The JDL parser and the job description reader (pilot/jobs): any bytes either fail with
// pilot::Error or parse; a parsed description written back with to_jdl_text parses to the same
// values; read_job_description accepts or refuses it with pilot::Error.

#include <optional>

#include "core/error.hpp"
#include "fuzz_target.hpp"
#include "jobs/jdl.hpp"
#include "jobs/job_description.hpp"

using namespace pilot::jobs;

namespace {

std::string written(const Jdl& jdl) {
  std::string out = "[";
  for (const auto& a : jdl.attributes) out += " " + a.name + " = " + to_jdl_text(a.value) + ";";
  return out + " ]";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in = pilot::fuzz::as_text(data, size);
  std::optional<Jdl> jdl;
  try {
    jdl = parse_jdl(in, "fuzz input");
  } catch (const pilot::Error&) {
    return 0;
  }
  std::string text = written(*jdl);
  std::optional<Jdl> again;
  try {
    again = parse_jdl(text, "rewritten");
  } catch (const pilot::Error& e) {
    FUZZ_CHECK(!"a written JDL parses back", std::string(e.what()) + "\n  " + text);
  }
  FUZZ_CHECK(written(*again) == text, text + "\n  " + written(*again));
  try {
    JobDescription d = read_job_description(*jdl, "fuzz input");
    FUZZ_CHECK(!d.executable.empty(), text);
    FUZZ_CHECK(d.min_processors >= 1 && d.min_processors <= d.max_processors, text);
  } catch (const pilot::Error&) {
  }
  return 0;
}
