#pragma once
// Signal names as operators write them: "USR1", "SIGUSR1", "10" all mean SIGUSR1.

#include <string>
#include <string_view>

namespace pilot {

// Throws pilot::Error naming the text when it is not a known signal.
int parse_signal(std::string_view text);
// "SIGUSR1"; "SIG<n>" for numbers without a name (real-time signals).
std::string signal_name(int sig);

}  // namespace pilot
