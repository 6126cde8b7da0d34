#pragma once
// The versions of the libraries linked into the `pilot` binary, for `pilot version`. Here rather
// than in core, so that only the executable, which links them all, depends on every library.

#include <string>
#include <utility>
#include <vector>

namespace pilot::cli {

std::vector<std::pair<std::string, std::string>> library_versions();  // name, version; fixed order

}  // namespace pilot::cli
