#include "jobs/job_source.hpp"

namespace pilot::jobs {

void JobSource::report(const std::string& job_id, const std::vector<JobReport>& reports) {
  std::string failures;
  for (const auto& r : reports) {
    try {
      if (r.status)
        set_status(job_id, *r.status);
      else
        set_parameters(job_id, r.parameters);
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") +
                  std::string(r.status ? "status " : "parameters ") + e.what();
    }
  }
  if (!failures.empty()) throw Error(failures);
}

}  // namespace pilot::jobs
