#pragma once
// job.info: the job's description as DIRAC's JobWrapper leaves it in every job directory for the
// payload, one "/Job/<attribute> = <value>" line per JDL attribute in the JDL's order.
//
// The values are those of DIRAC's JobAgent, which reads the JDL's raw text: every `"` removed, a
// list `{ ... }` split at white space (an element holding a space becomes two) and joined with
// ", ", braces inside other values set in quotes. A payload that parses job.info sees what it
// would see under DIRAC, flaws included.

#include <string>

#include "jobs/jdl.hpp"

namespace pilot::jobs {

std::string job_info(const Jdl& jdl);

}  // namespace pilot::jobs
