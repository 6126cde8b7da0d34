#pragma once
// The DIRAC installation that workflow jobs (`dirac-jobexec`) need, found where the site keeps it
// (LHCb: /cvmfs/lhcb.cern.ch/lib/lhcb/LHCBDIRAC/lhcbdirac <version>; generic DIRACOS:
// /cvmfs/dirac.egi.eu/dirac/<version>/Linux-<arch>/diracosrc). The pilot stays Python-free: it
// sources an environment script once, in a clean shell with a deadline, keeps the environment the
// script leaves and hands it to every job that needs DIRAC. The candidates are tried in order, as
// DIRAC's own pilot commands (InstallDIRAC, LHCbInstallDIRAC) try theirs.

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace pilot::dirac {

// One way to get DIRAC: a script to source and its arguments (e.g. the LHCbDIRAC version).
struct RuntimeSource {
  std::filesystem::path script;
  std::vector<std::string> arguments{};
  std::string describe() const;  // "/cvmfs/.../lhcbdirac v11.0" as a shell would show it
};

struct RuntimeOptions {
  std::vector<RuntimeSource> sources;                          // tried in order
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};  // for each source
  // The clean shell's whole environment (nothing else of the pilot's leaks in): HOME, USER,
  // LANG, PATH=kDefaultPath unless given. The credentials are not in it: a runtime script has
  // no use for the pilot's proxy.
  std::map<std::string, std::string> shell_environment{};
};

struct DiracRuntime {
  RuntimeSource source;
  // What the sourced script left, minus the shell's own bookkeeping (PWD, OLDPWD, SHLVL, _).
  std::map<std::string, std::string> environment;
  std::filesystem::path jobexec;  // `dirac-jobexec` on the environment's PATH
  // $DIRACROOT when the script set it, else $DIRACOS, else the directory above jobexec's bin/.
  std::filesystem::path diracroot;
};

// Why no candidate gave a runtime: one line per candidate tried, naming it and what went wrong
// (missing, exit status and the end of its stderr, timed out, no dirac-jobexec on its PATH).
struct RuntimeNotFound : Error {
  explicit RuntimeNotFound(const std::vector<std::string>& attempts);
  std::vector<std::string> attempts;
};

// Sources each candidate in turn and returns the first whose environment has `dirac-jobexec` on
// its PATH. Throws RuntimeNotFound when none does (also for an empty list of candidates).
DiracRuntime find_runtime(const RuntimeOptions& options);

// One candidate: sources it and returns its runtime. Throws pilot::Error naming the script and
// what went wrong.
DiracRuntime source_runtime(const RuntimeSource& source, const RuntimeOptions& options);

// `env -0` output ("K=V\0K=V\0...") as a map; entries without '=' are skipped.
std::map<std::string, std::string> parse_env0(const std::string& text);

}  // namespace pilot::dirac
