#pragma once
// Processor and memory accounting for a pilot that owns N processors and runs several jobs at
// once (DIRAC's PoolCE), and the order in which it asks for work so that free processors are
// filled before they idle (pilot-behaviour.md section 5).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pilot::agent {

struct Slots {
  int total_processors = 1;
  std::int64_t total_memory_mb = 0;  // 0: not accounted
  bool whole_node_allowed = true;    // offer the whole node when idle

  // Running jobs: id -> processors and memory they hold.
  struct Use {
    int processors = 1;
    std::int64_t memory_mb = 0;
  };
  std::map<std::string, Use> running;

  int used_processors() const;
  int free_processors() const;
  std::int64_t free_memory_mb() const;  // 0 when memory is not accounted
  bool idle() const { return running.empty(); }

  // The memory a job holds: what it asks for (MaxRAM), when memory is accounted.
  std::int64_t memory_for(std::optional<std::int64_t> max_ram_mb) const {
    return total_memory_mb > 0 ? max_ram_mb.value_or(0) : 0;
  }
  // Whether a job needing `processors` and `memory_mb` fits now.
  bool fits(int processors, std::int64_t memory_mb) const;
  // Reserves the job's share; throws pilot::Error if it does not fit (the caller checks first).
  void take(const std::string& job_id, int processors, std::int64_t memory_mb);
  void release(const std::string& job_id);
};

enum class Strategy { whole_node, exact_free, multi_processor, plain };
const char* strategy_name(Strategy s);

// One way to ask the job source for work, before tags from the configuration are added.
struct RequestPlan {
  Strategy strategy = Strategy::plain;
  int processors = 1;                      // NumberOfProcessors offered
  bool whole_node = false;                 // WholeNode
  std::vector<std::string> required_tags;  // RequiredTag added by the strategy
};

// The plans to try, in order, for the current state: the whole node when idle (RequiredTag
// WholeNode), exactly the free N (RequiredTag "<N>Processors"), any multi-processor job up to
// N (RequiredTag MultiProcessor), then anything that fits. Empty when nothing is free.
std::vector<RequestPlan> request_plans(const Slots& slots);

// The processors a matched job asks for: NumberOfProcessors, else MinNumberOfProcessors, else 1;
// a WholeNode job takes every processor; MaxNumberOfProcessors caps what a flexible job gets.
int processors_for_job(std::optional<int> number, std::optional<int> min, std::optional<int> max,
                       bool whole_node, int free_processors, int total_processors);

}  // namespace pilot::agent
