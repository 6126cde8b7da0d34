#include "job_results.hpp"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <set>
#include <vector>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/zstd_file.hpp"

namespace pilot::jobs::detail {
namespace {

namespace fs = std::filesystem;

bool plain_relative(const fs::path& p) {
  if (p.empty() || p.is_absolute()) return false;
  return std::none_of(p.begin(), p.end(), [](const fs::path& c) { return c == ".."; });
}

// A copy with descriptors opened O_CLOEXEC (std::filesystem::copy_file does not promise it, and
// payloads are started from other threads meanwhile).
void copy_regular_file(const fs::path& from, const fs::path& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!in) throw_errno("cannot open " + from.string(), errno);
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out) throw_errno("cannot create " + to.string(), errno);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(in.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + from.string(), errno);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) throw_errno("cannot write " + to.string(), errno);
      done += w;
    }
  }
  if (::fsync(out.get()) != 0) throw_errno("cannot fsync " + to.string(), errno);
}

// Work-directory files an OutputSandbox entry names: the entry itself, or its glob matches.
std::vector<fs::path> expand(const fs::path& workdir, const std::string& pattern) {
  std::vector<fs::path> out;
  if (pattern.find_first_of("*?[") == std::string::npos) {
    out.emplace_back(pattern);
    return out;
  }
  glob_t g{};
  std::string full = (workdir / pattern).string();
  if (::glob(full.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
    std::unique_ptr<glob_t, void (*)(glob_t*)> guard(&g, ::globfree);
    for (std::size_t i = 0; i < g.gl_pathc; ++i)
      out.push_back(fs::path(g.gl_pathv[i]).lexically_relative(workdir));
  } else {
    ::globfree(&g);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool regular_file(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

void collect_results(const fs::path& job_dir, const FinishedJob& job,
                     const JobDescription* description, const ResultLimits& limits,
                     nlohmann::json& status) {
  auto problem = [&](std::string text) { status["problems"].push_back(std::move(text)); };
  // The kept event count of an interruptible MC job, as the wrapper's record has it.
  const auto events = nlohmann::json::json_pointer("/extra/mc/result/events");
  if (job.record.is_object() && job.record.contains("events"))
    status["events"] = job.record["events"];
  else if (job.record.is_object() && job.record.contains(events))
    status["events"] = job.record[events];

  std::error_code ec;
  const fs::path& workdir = job.workdir;
  if (workdir.empty() || !fs::is_directory(workdir, ec)) {
    problem("work directory '" + workdir.string() + "' is missing: no logs or outputs collected");
    return;
  }

  JobDescription defaults;
  const JobDescription& d = description ? *description : defaults;
  std::vector<std::string> logs{d.std_output, d.std_error};
  if (!d.xml_summary_file.empty() && plain_relative(d.xml_summary_file))
    logs.push_back(d.xml_summary_file);
  for (const auto& e : fs::directory_iterator(workdir, ec))
    if (e.path().extension() == ".log") logs.push_back(e.path().filename().string());
  std::set<std::string> stored;
  status["logs"] = nlohmann::json::array();
  for (const auto& name : logs) {
    if (stored.count(name)) continue;
    auto file = fs::path("logs") / (fs::path(name).filename().string() + ".zst");
    if (!regular_file(workdir / name) && regular_file(workdir / (name + ".zst"))) {
      // The job wrapper already capped and compressed this stream: keep its file as it is.
      try {
        fs::create_directories(job_dir / "logs");
        copy_regular_file(workdir / (name + ".zst"), job_dir / file);
        status["logs"].push_back({{"name", name},
                                  {"file", file.string()},
                                  {"stored_bytes", fs::file_size(job_dir / file, ec)},
                                  {"compressed_by", "jobwrapper"}});
        stored.insert(name);
      } catch (const std::exception& e) {
        problem(std::string("log ") + name + " not kept: " + e.what());
      }
      continue;
    }
    if (!regular_file(workdir / name)) continue;
    try {
      fs::create_directories(job_dir / "logs");
      auto copy = compress_tail(workdir / name, job_dir / file, limits.max_log_bytes);
      status["logs"].push_back({{"name", name},
                                {"file", file.string()},
                                {"bytes", copy.bytes},
                                {"stored_bytes", copy.stored_bytes},
                                {"truncated", copy.truncated()}});
      stored.insert(name);
    } catch (const std::exception& e) {
      problem(std::string("log ") + name + " not kept: " + e.what());
    }
  }

  status["outputs"] = nlohmann::json::array();
  std::uint64_t total = 0;
  for (const auto& pattern : d.output_sandbox) {
    if (!plain_relative(pattern)) {
      problem("OutputSandbox entry '" + pattern + "' is not a path inside the job directory");
      continue;
    }
    if (stored.count(pattern)) continue;  // a log kept above
    auto files = expand(workdir, pattern);
    if (files.empty()) problem("OutputSandbox entry '" + pattern + "' matches no file");
    for (const auto& rel : files) {
      std::string name = rel.string();
      if (stored.count(name)) continue;  // kept with the logs already
      if (!fs::exists(fs::symlink_status(workdir / rel, ec))) {
        problem("OutputSandbox file '" + name + "' not found in the job directory");
        continue;
      }
      if (!plain_relative(rel) || !regular_file(workdir / rel)) {
        problem("OutputSandbox file '" + name + "' is not a regular file in the job directory");
        continue;
      }
      auto size = fs::file_size(workdir / rel, ec);
      if (ec) size = 0;
      if (total + size > limits.max_output_bytes) {
        problem("OutputSandbox file '" + name + "' (" + std::to_string(size) +
                " bytes) not kept: over the output sandbox limit of " +
                std::to_string(limits.max_output_bytes) + " bytes");
        continue;
      }
      try {
        auto file = fs::path("output") / rel;
        fs::create_directories((job_dir / file).parent_path());
        copy_regular_file(workdir / rel, job_dir / file);
        total += size;
        stored.insert(name);
        status["outputs"].push_back({{"name", name}, {"file", file.string()}, {"bytes", size}});
      } catch (const std::exception& e) {
        problem("OutputSandbox file '" + name + "' not kept: " + e.what());
      }
    }
  }
}

}  // namespace pilot::jobs::detail
