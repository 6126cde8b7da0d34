#include "core/failpoint.hpp"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "core/number.hpp"

namespace pilot {

namespace {

struct Armed {
  std::string name;  // empty: no failpoint armed
  long at = 0;
  std::atomic<long> passes{0};
};

Armed& armed() {
  static Armed a;
  static std::once_flag once;
  std::call_once(once, [] {
    const char* v = std::getenv("PILOT_FAILPOINT");
    if (!v || !*v) return;
    std::string_view text(v);
    auto colon = text.rfind(':');
    auto n = colon != std::string_view::npos && colon > 0
                 ? whole_number<long>(text.substr(colon + 1))
                 : std::nullopt;
    bool ok = n && *n > 0;
    if (!ok) {
      std::fprintf(stderr, "PILOT_FAILPOINT='%s' ignored: expected <name>:<n> with n >= 1\n", v);
      return;
    }
    a.name = std::string(text.substr(0, colon));
    a.at = *n;
  });
  return a;
}

}  // namespace

void failpoint(std::string_view name) {
  auto& a = armed();
  if (a.name.empty() || a.name != name) return;
  if (a.passes.fetch_add(1, std::memory_order_relaxed) + 1 == a.at) ::kill(::getpid(), SIGKILL);
}

}  // namespace pilot
