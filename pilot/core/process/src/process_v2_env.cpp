// Boost 1.81 forgets to include this implementation file in header-only mode (undefined
// process_environment::on_setup at link time). Its function is not inline, so it is compiled
// here, once, with the configuration of core/process_v2.hpp.
#include "core/process_v2.hpp"
// clang-format off
#include <boost/process/v2/impl/environment.ipp>
// clang-format on
