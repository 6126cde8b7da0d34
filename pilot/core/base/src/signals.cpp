#include "core/signals.hpp"

#include <signal.h>

#include <array>
#include <utility>

#include "core/error.hpp"
#include "core/number.hpp"

namespace pilot {
namespace {

constexpr std::array<std::pair<std::string_view, int>, 31> kSignals{{
    {"HUP", SIGHUP},   {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},     {"BUS", SIGBUS},   {"FPE", SIGFPE},
    {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},   {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH},
    {"IO", SIGIO},     {"PWR", SIGPWR},       {"SYS", SIGSYS},
}};

}  // namespace

int parse_signal(std::string_view text) {
  std::string_view t = text;
  if (t.starts_with("SIG")) t.remove_prefix(3);
  if (auto n = whole_number<int>(t)) {
    if (*n >= 1 && *n <= SIGRTMAX) return *n;
  } else {
    for (const auto& [name, sig] : kSignals)
      if (name == t) return sig;
  }
  throw Error("unknown signal '" + std::string(text) +
              "' (use a name like USR1 or SIGTERM, or a number)");
}

std::string signal_name(int sig) {
  for (const auto& [name, s] : kSignals)
    if (s == sig) return "SIG" + std::string(name);
  return "SIG" + std::to_string(sig);
}

}  // namespace pilot
