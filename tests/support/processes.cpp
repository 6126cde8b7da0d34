#include "processes.hpp"

#include <chrono>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::test {

bool process_alive(pid_t pid) {
  auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  // The state follows the command name, which may hold spaces and parentheses.
  auto close = stat->rfind(')');
  if (close == std::string::npos || close + 2 >= stat->size()) return false;
  char state = (*stat)[close + 2];
  return state != 'Z' && state != 'X' && state != 'x';
}

pid_t read_pid_file(const std::filesystem::path& file) {
  for (int i = 0; i < 100; ++i) {
    auto t = read_file(file);
    if (t && !t->empty() && t->back() == '\n') return std::stoi(*t);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw Error("no pid in " + file.string());
}

}  // namespace pilot::test
