#pragma once
// What a test asks of the processes a payload left behind: whether one still runs, and the pid a
// payload wrote into a file.

#include <sys/types.h>

#include <filesystem>

namespace pilot::test {

// Present in /proc and not a zombie (PID 1 here may take its time to reap orphans).
bool process_alive(pid_t pid);

// The pid written as one line into `file`, waiting up to a second for the line to be complete;
// throws pilot::Error when none comes.
pid_t read_pid_file(const std::filesystem::path& file);

}  // namespace pilot::test
