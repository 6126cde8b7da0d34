#pragma once
// What a finished job leaves in done/<id>/: compressed logs, output sandbox files, event count.

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "jobs/job_description.hpp"
#include "jobs/job_source.hpp"

namespace pilot::jobs::detail {

struct ResultLimits {
  std::size_t max_log_bytes;
  std::size_t max_output_bytes;
};

// Copies the results of `job` (its work directory and record) into `job_dir` and records them in
// `status` ("logs", "outputs", "events", "problems"). `description` may be null when the JDL
// could not be read; then the default log names are used. Never throws for a missing or
// unreadable result file: that becomes a "problems" entry.
void collect_results(const std::filesystem::path& job_dir, const FinishedJob& job,
                     const JobDescription* description, const ResultLimits& limits,
                     nlohmann::json& status);

}  // namespace pilot::jobs::detail
