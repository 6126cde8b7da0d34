#pragma once
// One policy's run (simulation.hpp): farm.cpp sets it up and dispatches its events, pilot.cpp is
// what a pilot does when it may ask and when its answer comes.

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "agent/loop_policy.hpp"
#include "agent/request_pacing.hpp"
#include "agent/slots.hpp"
#include "farmsim/event_queue.hpp"
#include "farmsim/jobs.hpp"
#include "farmsim/matcher.hpp"
#include "farmsim/recorder.hpp"
#include "farmsim/scenario.hpp"
#include "farmsim/summary.hpp"

namespace pilot::farmsim {

struct Request {
  int pilot = 0;
  int offered = 0;  // processors
  double sent_s = 0;
  bool pilot_waiting = true;  // neither answered nor given up on
  bool held = true;           // the Matcher has it, waiting or in service
};

struct PilotState {
  PilotState(const PolicySettings& settings, int processors, std::uint64_t seed);

  agent::RequestPacing pacing;
  agent::LoopPolicy loop;
  agent::Slots slots;
  double wake_at = std::numeric_limits<double>::infinity();  // the pending wake-up
  bool stopped = false;
};

class Farm {
 public:
  Farm(const Scenario& s, Policy policy);
  Summary run();

 private:
  // farm.cpp
  void start_pilots();
  void dispatch(const Event& e);
  void service_done(int request);
  void client_timeout(int request);
  void job_end(int pilot, int job);
  void job_return(int job);
  void outage_start();
  void in_service(std::optional<Started> started);
  void add_busy_slots(int processors);

  // pilot.cpp
  void wake(int pilot, double t);
  void try_send(int pilot);
  int offer(const PilotState& p) const;
  void send(int pilot, int offered);
  void answer(int request, std::optional<int> match);
  void fail(int request);
  void pace(int pilot, agent::RequestOutcome outcome);
  void take_job(int pilot, int job);
  void stop(PilotState& p, agent::StopReason reason);

  const Scenario& s_;
  const PolicySettings& settings_;
  bool multi_processor_;
  std::vector<Job> jobs_;
  Backlog backlog_;
  Matcher matcher_;
  Recorder rec_;
  EventQueue events_;
  std::vector<PilotState> pilots_;
  std::vector<Request> requests_;
  double now_ = 0;
  std::int64_t busy_slots_ = 0;
};

}  // namespace pilot::farmsim
