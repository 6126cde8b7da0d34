#pragma once
// What this build is: the project version (from CMakeLists.txt), the git commit it was built from,
// and the versions of the libraries linked into it.

#include <string>
#include <utility>
#include <vector>

namespace pilot {

std::string version();  // "0.1.0"
std::string
git_commit();  // full hash, with "-dirty" if the tree had changes; "unknown" outside git
std::vector<std::pair<std::string, std::string>> library_versions();  // name, version; fixed order

}  // namespace pilot
