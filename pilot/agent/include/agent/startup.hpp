#pragma once
// The start-up steps of `pilot run`, in the order of the DIRAC pilot's commands: node check
// (disk, CVMFS), credentials, DIRAC runtime (for workflow jobs), platform, budget (MJF and batch
// system), pilot reference, resource description, job source. Each is logged with its duration; a
// failed step throws StepFailed naming it, and the pilot exits non-zero with that name.

#include <filesystem>
#include <memory>
#include <string>

#include "agent/agent.hpp"
#include "agent/config.hpp"
#include "core/error.hpp"
#include "dirac/rpc.hpp"
#include "mjf/watcher.hpp"

namespace pilot::agent {

struct StepFailed : Error {
  StepFailed(std::string step, const std::string& what)
      : Error("start-up step '" + step + "' failed: " + what), step(std::move(step)) {}
  std::string step;
};

// Where the start-up reads the node: its file system (the platform probe, the shutdown file,
// /cvmfs) and its live processes (owners of local queue jobs; payloads a lost pilot left, read by
// the agent). Tests point them at fixture trees.
struct NodeRoots {
  std::filesystem::path files = "/";
  std::filesystem::path proc = "/proc";
};

struct Startup {
  AgentSetup setup;
  std::unique_ptr<mjf::Watcher> watcher;  // setup.watcher points here
  std::vector<std::pair<std::string, double>> phases;
};

// How the pilot calls DIRAC services with the credentials the start-up found.
dirac::RpcOptions rpc_options(const Config& config);

// The demo jobs embedded in the binary (pilot/jobs/demo/*.jdl): name, JDL.
std::vector<std::pair<std::string, std::string>> demo_jobs();

// `config.queue_dir` empty and no DIRAC services: the embedded default, a local queue in
// <workdir>/demo-queue filled with the demo jobs.
Startup start_up(Config config, log::Logger log, const NodeRoots& roots = {});

}  // namespace pilot::agent
