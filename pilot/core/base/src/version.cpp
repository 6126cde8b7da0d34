#include "core/version.hpp"

#include "build_info.hpp"
#include "git_commit.hpp"

namespace pilot {

std::string version() {
  return PILOT_VERSION;
}

std::string git_commit() {
  return PILOT_GIT_COMMIT;
}

}  // namespace pilot
