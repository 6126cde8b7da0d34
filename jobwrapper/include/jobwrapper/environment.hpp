#pragma once
// The payload's environment, built explicitly from the pilot's and the job's policy.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jobwrapper/job_spec.hpp"

namespace pilot::jobwrapper {

// `parent` holds "KEY=VALUE" entries (e.g. from environ). Result: inherited entries minus
// `unset` and (unless allowed) the credential variables, then `set`, then the job marker
// `PILOT_JOB_MARKER=<marker>`. Throws pilot::Error for a key that is empty or holds '='.
std::vector<std::string> build_environment(const std::vector<std::string>& parent,
                                           const EnvPolicy& policy, std::string_view marker);

// This process's environment as "KEY=VALUE" entries.
std::vector<std::string> current_environment();

// A unique marker for one job: "<pid>-<random hex>".
std::string make_marker();
// The pid of the pilot that made `marker`; nullopt when it is no marker.
std::optional<pid_t> marker_pilot(std::string_view marker);

}  // namespace pilot::jobwrapper
