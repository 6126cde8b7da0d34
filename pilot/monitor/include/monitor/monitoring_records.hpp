#pragma once
// The monitoring records the pilot publishes over STOMP (stomp_publisher.hpp), as JSON objects
// for DIRAC's MonitoringSystem and the OpenSearch indices behind it (issue 19). Pure functions of
// the agent's PilotStatus: nothing here reads the system or the clock.
//
// Field names follow DIRAC's: the key fields of its WMSHistory monitoring type
// (DIRAC/MonitoringSystem/Client/Types/WMSHistory.py: Status, Site, MinorStatus,
// ApplicationStatus) and the job parameters its JobWrapper and JobAgent report (HostName,
// PilotReference, CPU and wall-clock times, memory). Units: seconds, bytes, and `timestamp` in
// milliseconds since the epoch (OpenSearch's epoch_millis). A figure the pilot does not know is
// absent, never null or -1.

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "monitor/pilot_status.hpp"

namespace pilot::monitor {

// One change of a job's DIRAC status, as the agent reports it to the job source.
struct JobChange {
  std::string job_id;
  std::string status;        // DIRAC's major status: "Running", "Completed", "Failed", ...
  std::string minor_status;  // empty: none
  std::optional<std::string> application_status;
  double at = 0;  // when it changed, epoch seconds
  // The job's figures when it is no longer among PilotStatus::jobs (its final change); a job
  // still held is looked up there instead.
  std::optional<JobView> last_view;
};

// {JobID, Status, MinorStatus, ApplicationStatus?, Site, HostName, PilotReference, Processors?,
//  CPUTime?, WallClockTime?, Memory?, Events?, timestamp}. JobID is a number when the id is
// one (DIRAC's are), else the text. The figures come from the job's view; without one (a job
// neither held nor given a last_view) they are absent.
nlohmann::json job_record(const PilotStatus& status, const JobChange& change);

// {Site, HostName, PilotReference, Version, State, StopReason?, SlotsTotal, SlotsBusy,
//  JobsRunning, WallClockLeft?, CPUWorkLeft?, Events, JobsFinished{succeeded,failed,rescheduled},
//  Requests{match,no_match,error}, Heartbeats, timestamp}: the pilot as of `status.updated_at`.
nlohmann::json pilot_record(const PilotStatus& status);

}  // namespace pilot::monitor
