#pragma once
// Failpoints for the crash tests (as etcd's gofail or TiKV's fail-rs): with
// PILOT_FAILPOINT=<name>:<n> in the environment, the process dies of SIGKILL the n-th time it
// passes failpoint <name>, right after the step before it is durable. The crash tests use it to
// reach every journal step of a static binary deterministically. Without the variable (as in
// production) a pass costs one relaxed atomic load. A malformed value is ignored with a message on
// stderr, once: the tests check it is honoured.
//
// Failpoints: "journal" after each durable write (write_file_atomic, a job's move between
// directories of the local queue).

#include <string_view>

namespace pilot {

void failpoint(std::string_view name);

}  // namespace pilot
