#pragma once
// What this build is: the project version (from CMakeLists.txt) and the git commit it was built
// from. The versions of the linked libraries are the executable's (pilot/cli/library_versions.hpp).

#include <string>

namespace pilot {

std::string version();  // "0.1.0"
std::string
git_commit();  // full hash, with "-dirty" if the tree had changes; "unknown" outside git

}  // namespace pilot
