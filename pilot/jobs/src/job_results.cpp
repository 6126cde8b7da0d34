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
  sync_file(out.get(), to);
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

// Whether a log or output file is regular: lstat, so a symlink out of the work directory is not.
bool regular_file(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The kept event count of an interruptible MC job, as the wrapper's record has it.
void record_events(const nlohmann::json& record, nlohmann::json& status) {
  const auto events = nlohmann::json::json_pointer("/extra/mc/result/events");
  if (record.is_object() && record.contains("events"))
    status["events"] = record["events"];
  else if (record.is_object() && record.contains(events))
    status["events"] = record[events];
}

// The logs worth keeping: the job's streams, its XML summary, and every *.log of the work
// directory.
std::vector<std::string> log_names(const fs::path& workdir, const JobDescription& d) {
  std::error_code ec;
  std::vector<std::string> logs{d.std_output, d.std_error};
  if (!d.xml_summary_file.empty() && plain_relative(d.xml_summary_file))
    logs.push_back(d.xml_summary_file);
  for (const auto& e : fs::directory_iterator(workdir, ec))
    if (e.path().extension() == ".log") logs.push_back(e.path().filename().string());
  return logs;
}

// Copies one job's logs and OutputSandbox files from its work directory into its directory in the
// queue, each file once, and lists them in its status; what cannot be kept is a "problems" entry.
class ResultCollector {
 public:
  ResultCollector(const fs::path& job_dir, const fs::path& workdir, const ResultLimits& limits,
                  nlohmann::json& status)
      : job_dir_(job_dir), workdir_(workdir), limits_(limits), status_(status) {}

  void keep_logs(const std::vector<std::string>& names) {
    status_["logs"] = nlohmann::json::array();
    for (const auto& name : names) keep_log(name);
  }

  void keep_outputs(const std::vector<std::string>& patterns) {
    status_["outputs"] = nlohmann::json::array();
    for (const auto& pattern : patterns) keep_output_entry(pattern);
  }

 private:
  void problem(std::string text) { status_["problems"].push_back(std::move(text)); }

  void keep_log(const std::string& name) {
    if (stored_.count(name)) return;
    auto file = fs::path("logs") / (fs::path(name).filename().string() + ".zst");
    if (!regular_file(workdir_ / name) && regular_file(workdir_ / (name + ".zst"))) {
      // The job wrapper already capped and compressed this stream: keep its file as it is.
      store_log(name, [&] { return copy_compressed_log(name, file); });
      return;
    }
    if (!regular_file(workdir_ / name)) return;
    store_log(name, [&] { return compress_log_tail(name, file); });
  }

  // `store` writes the log's file and returns its "logs" entry.
  template <typename Store>
  void store_log(const std::string& name, Store store) {
    try {
      fs::create_directories(job_dir_ / "logs");
      status_["logs"].push_back(store());
      stored_.insert(name);
    } catch (const std::exception& e) {
      problem(std::string("log ") + name + " not kept: " + e.what());
    }
  }

  nlohmann::json copy_compressed_log(const std::string& name, const fs::path& file) {
    std::error_code ec;
    copy_regular_file(workdir_ / (name + ".zst"), job_dir_ / file);
    return {{"name", name},
            {"file", file.string()},
            {"stored_bytes", fs::file_size(job_dir_ / file, ec)},
            {"compressed_by", "jobwrapper"}};
  }

  nlohmann::json compress_log_tail(const std::string& name, const fs::path& file) {
    auto copy = compress_tail(workdir_ / name, job_dir_ / file, limits_.max_log_bytes);
    return {{"name", name},
            {"file", file.string()},
            {"bytes", copy.bytes},
            {"stored_bytes", copy.stored_bytes},
            {"truncated", copy.truncated()}};
  }

  void keep_output_entry(const std::string& pattern) {
    if (!plain_relative(pattern)) {
      problem("OutputSandbox entry '" + pattern + "' is not a path inside the job directory");
      return;
    }
    if (stored_.count(pattern)) return;  // a log kept above
    auto files = expand(workdir_, pattern);
    if (files.empty()) problem("OutputSandbox entry '" + pattern + "' matches no file");
    for (const auto& rel : files) keep_output_file(rel);
  }

  void keep_output_file(const fs::path& rel) {
    std::error_code ec;
    std::string name = rel.string();
    if (stored_.count(name)) return;  // kept with the logs already
    if (!fs::exists(fs::symlink_status(workdir_ / rel, ec))) {
      problem("OutputSandbox file '" + name + "' not found in the job directory");
      return;
    }
    if (!plain_relative(rel) || !regular_file(workdir_ / rel)) {
      problem("OutputSandbox file '" + name + "' is not a regular file in the job directory");
      return;
    }
    auto size = fs::file_size(workdir_ / rel, ec);
    if (ec) size = 0;
    if (total_ + size > limits_.max_output_bytes) {
      problem("OutputSandbox file '" + name + "' (" + std::to_string(size) +
              " bytes) not kept: over the output sandbox limit of " +
              std::to_string(limits_.max_output_bytes) + " bytes");
      return;
    }
    try {
      auto file = fs::path("output") / rel;
      fs::create_directories((job_dir_ / file).parent_path());
      copy_regular_file(workdir_ / rel, job_dir_ / file);
      total_ += size;
      stored_.insert(name);
      status_["outputs"].push_back({{"name", name}, {"file", file.string()}, {"bytes", size}});
    } catch (const std::exception& e) {
      problem("OutputSandbox file '" + name + "' not kept: " + e.what());
    }
  }

  const fs::path& job_dir_;
  const fs::path& workdir_;
  const ResultLimits& limits_;
  nlohmann::json& status_;
  std::set<std::string> stored_;  // names of the work directory's files kept so far
  std::uint64_t total_ = 0;       // bytes of the OutputSandbox files kept so far
};

}  // namespace

void collect_results(const fs::path& job_dir, const FinishedJob& job,
                     const JobDescription* description, const ResultLimits& limits,
                     nlohmann::json& status) {
  record_events(job.record, status);
  std::error_code ec;
  const fs::path& workdir = job.workdir;
  if (workdir.empty() || !fs::is_directory(workdir, ec)) {
    status["problems"].push_back("work directory '" + workdir.string() +
                                 "' is missing: no logs or outputs collected");
    return;
  }
  JobDescription defaults;
  const JobDescription& d = description ? *description : defaults;
  ResultCollector collector(job_dir, workdir, limits, status);
  collector.keep_logs(log_names(workdir, d));
  collector.keep_outputs(d.output_sandbox);
}

}  // namespace pilot::jobs::detail
