#pragma once
// The resource description Matcher.requestJob takes, built from the pilot's neutral job request
// with the exact Python types DIRAC compares: Site, GridCE, CEQueue, Platform (str), CPUTime,
// NumberOfProcessors, MaxRAM (int), Tag, RequiredTag (list of str), WholeNode,
// PilotInfoReportedFlag (bool), PilotBenchmark (float), PilotReference, ReleaseVersion,
// ReleaseProject, VirtualOrganization, GridMiddleware, JobType (str). Keys left empty or zero are
// omitted, as DIRAC's pilot does.

#include <nlohmann/json.hpp>

#include "dirac/value.hpp"
#include "jobs/job_source.hpp"

namespace pilot::dirac {

// `request.extra` is forwarded with its keys; values of the known keys are converted to their
// DIRAC type (e.g. ReleaseVersion 8 -> "8") and a value that cannot be (e.g. CPUTime "lots")
// throws pilot::Error naming the key. Throws when Site is empty or CPUTime is not positive.
Dict resource_description(const jobs::ResourceRequest& request, bool pilot_info_reported);

// nlohmann JSON to a Value (ints stay ints, floats stay floats).
Value value_from_json(const nlohmann::json& j);

}  // namespace pilot::dirac
