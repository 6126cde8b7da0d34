#pragma once
// The agent's summary counts, kept by the loop and by the recovery of lost jobs alike.

#include "agent/agent.hpp"
#include "agent/job_plan.hpp"

namespace pilot::agent {

// Counts a reported job in exactly one of succeeded, rescheduled or failed.
void count_outcome(AgentSummary& summary, const FinalReport& report);

}  // namespace pilot::agent
