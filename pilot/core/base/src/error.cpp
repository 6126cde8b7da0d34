#include "core/error.hpp"

#include <cstring>

namespace pilot {

void throw_errno(std::string_view what, int err) {
  throw Error(std::string(what) + ": " + std::strerror(err));
}

}  // namespace pilot
