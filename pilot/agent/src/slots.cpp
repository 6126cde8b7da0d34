#include "agent/slots.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace pilot::agent {

int Slots::used_processors() const {
  int n = 0;
  for (const auto& [id, u] : running) n += u.processors;
  return n;
}

int Slots::free_processors() const {
  return std::max(0, total_processors - used_processors());
}

std::int64_t Slots::free_memory_mb() const {
  if (total_memory_mb <= 0) return 0;
  std::int64_t used = 0;
  for (const auto& [id, u] : running) used += u.memory_mb;
  return std::max<std::int64_t>(0, total_memory_mb - used);
}

bool Slots::fits(int processors, std::int64_t memory_mb) const {
  if (processors < 1 || processors > free_processors()) return false;
  return total_memory_mb <= 0 || memory_mb <= free_memory_mb();
}

void Slots::take(const std::string& job_id, int processors, std::int64_t memory_mb) {
  if (running.count(job_id)) throw Error("job " + job_id + " already holds processors");
  if (!fits(processors, memory_mb))
    throw Error("job " + job_id + " needs " + std::to_string(processors) + " processors and " +
                std::to_string(memory_mb) + " MB, only " + std::to_string(free_processors()) +
                " processors and " + std::to_string(free_memory_mb()) + " MB are free");
  running[job_id] = {processors, memory_mb};
}

void Slots::release(const std::string& job_id) {
  running.erase(job_id);
}

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::whole_node:
      return "whole_node";
    case Strategy::exact_free:
      return "exact_free";
    case Strategy::multi_processor:
      return "multi_processor";
    case Strategy::plain:
      return "plain";
  }
  return "?";
}

std::vector<RequestPlan> request_plans(const Slots& slots) {
  std::vector<RequestPlan> plans;
  int free = slots.free_processors();
  if (free < 1) return plans;
  if (slots.idle() && slots.whole_node_allowed && slots.total_processors > 1)
    plans.push_back({Strategy::whole_node, slots.total_processors, true, {"WholeNode"}});
  if (free > 1) {
    plans.push_back({Strategy::exact_free, free, false, {std::to_string(free) + "Processors"}});
    plans.push_back({Strategy::multi_processor, free, false, {"MultiProcessor"}});
  }
  plans.push_back({Strategy::plain, free, false, {}});
  return plans;
}

int processors_for_job(std::optional<int> number, std::optional<int> min, std::optional<int> max,
                       bool whole_node, int free_processors, int total_processors) {
  if (whole_node) return total_processors;
  if (number && *number > 0) return *number;
  int want = std::max(1, min.value_or(1));
  // A flexible job (min..max) gets as many free processors as it can use.
  if (max && *max > want) want = std::min(*max, std::max(want, free_processors));
  return want;
}

}  // namespace pilot::agent
