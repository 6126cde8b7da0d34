// The records a later pilot reads back after a crash (jobwrapper/): job.json and keeper.json.
// Whatever JSON a killed pilot or a damaged disk left gives a record or pilot::Error naming the
// field, never another exception; a record read back writes out and reads back the same.

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "fuzz_target.hpp"
#include "jobwrapper/job_record.hpp"
#include "jobwrapper/keeper.hpp"

using namespace pilot::jobwrapper;

namespace {

template <typename Record, typename Read>
void round_trip(const nlohmann::json& j, Read read) {
  Record r;
  try {
    r = read(j);
  } catch (const pilot::Error&) {
    return;
  }
  auto out = nlohmann::json(to_json(r));
  auto again = nlohmann::json(to_json(read(out)));
  FUZZ_CHECK(again == out, out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto j = nlohmann::json::parse(pilot::fuzz::as_text(data, size), nullptr, false);
  if (j.is_discarded()) return 0;
  round_trip<JobRecord>(j, [](const nlohmann::json& in) { return job_record_from_json(in); });
  round_trip<KeeperRecord>(j, [](const nlohmann::json& in) { return keeper_record_from_json(in); });
  return 0;
}
