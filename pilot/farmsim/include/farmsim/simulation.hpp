#pragma once
// One policy's run of a scenario: every node's pilot, using the agent's own RequestPacing and
// LoopPolicy, asking one Matcher for the backlog's jobs, in simulated time (issue 18).
//
// The model: a pilot asks only while it has a free processor, offering the free ones (one
// Matcher call per request), and gets the oldest waiting job that fits or no match. A request
// not answered within client_timeout_s is an error for its pilot; the Matcher serves it anyway,
// and a job it matches then is lost until matched_reschedule_s later. During an outage every
// request is refused at once. An error is a failed match for DIRAC's LoopPolicy (as in DIRAC's
// JobAgent) and a host failure for ours. A pilot that stops sends no further request; its
// running jobs finish and its slots stay idle. Starting a job takes no time.
//
// Deterministic: the same scenario gives the same summary, and both policies get the same jobs
// and the same pilot start times.

#include "farmsim/scenario.hpp"
#include "farmsim/summary.hpp"

namespace pilot::farmsim {

// Throws pilot::Error for a scenario validate() refuses.
Summary simulate(const Scenario& s, Policy policy);

}  // namespace pilot::farmsim
