#pragma once
// Where a process's time goes, for ci/bench's breakdowns of a job's and of the start-up's cost.
// With PILOT_TRACE=<file> in the environment, a process adds up the time spent in each named
// phase (how often, how long in all, and the wall-clock time the first one began and ended) and
// appends them to the file as one JSON line when it ends (trace::flush, run at exit too):
//
//   {"pid":1234,"process":"run","phases":{"job.launch":{"n":8,"ns":81234,"first_ns":...,
//    "first_end_ns":...},...}}
//
// Phases may nest and each is counted on its own (a phase includes the ones inside it). Names are
// literals of [a-z0-9._] (checked: any other name is a programming error and throws
// std::invalid_argument). Without the variable a phase costs one relaxed atomic load and nothing
// is written; an unwritable trace file is reported once on stderr, never to the caller. Safe
// from any thread. A child that calls exec or _exit after fork writes nothing of its parent's.

#include <chrono>
#include <cstdint>

namespace pilot::trace {

bool enabled();

// Names this process's line ("process"): the subcommand, "keep" for a payload keeper.
void set_process(const char* name);

// Times the scope it lives in.
class Phase {
 public:
  explicit Phase(const char* name);
  ~Phase();
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  const char* name_ = nullptr;  // nullptr: tracing is off
  std::chrono::steady_clock::time_point start_;
  std::int64_t start_epoch_ns_ = 0;
};

// A phase timed by the caller, ending now.
void add(const char* name, std::chrono::nanoseconds took);

// Writes what was added since the last flush and starts again from nothing.
void flush();

}  // namespace pilot::trace
