#pragma once
// Private to the batch providers: the provider rows and what they share.

#include <optional>
#include <string>
#include <vector>

#include "mjf/batch.hpp"

namespace pilot::mjf::detail {

extern const BatchProvider kSlurm;
extern const BatchProvider kHtcondor;
extern const BatchProvider kPbs;
extern const BatchProvider kLsf;
extern const BatchProvider kSge;

// The value of `name` when set and not empty.
std::optional<std::string> env_value(const Environment& env, std::string_view name);

// Runs a helper command found in the environment's PATH with the query's timeout and the
// environment passed on; stdout when it succeeded, otherwise nullopt and a line in `problems`.
std::optional<std::string> run_helper(const std::vector<std::string>& argv, const Environment& env,
                                      const BatchQuery& query, BatchLimits& limits);

// Reads a small text file named by an environment variable (ClassAd files); nullopt and a line in
// `problems` when it is unreadable.
std::optional<std::string> read_env_file(const Environment& env, std::string_view var,
                                         std::vector<std::string>& problems);

}  // namespace pilot::mjf::detail
