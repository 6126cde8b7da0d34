#include <glob.h>

#include <fstream>

#include <algorithm>
#include <thread>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_number.hpp"
#include "core/zstd_file.hpp"
#include "dirac/sandbox_store.hpp"

namespace pilot::dirac {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFailed = "Failed Downloading InputSandbox";
constexpr const char* kFailedLfn = "Failed Downloading InputSandbox LFN(s)";

bool istarts_with(const std::string& s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

bool safe_relative(const std::string& entry) {
  if (entry.empty() || entry.front() == '/') return false;
  for (const auto& part : fs::path(entry))
    if (part == "..") return false;
  return true;
}

// Regular files under `workdir` an entry names (itself, or its glob matches), as relative names.
std::vector<std::string> matches(const fs::path& workdir, const std::string& entry) {
  std::vector<std::string> out;
  std::string pattern = (workdir / entry).string();
  glob_t g{};
  if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) {
      fs::path p = g.gl_pathv[i];
      std::error_code ec;
      if (fs::is_regular_file(p, ec) || fs::is_directory(p, ec))
        out.push_back(fs::relative(p, workdir, ec).string());
    }
  }
  ::globfree(&g);
  return out;
}

nlohmann::json status_json(const jobs::StatusUpdate& s) {
  return {{"status", s.status},
          {"minor_status", s.minor_status},
          {"application_status", s.application_status},
          {"source", s.source}};
}

}  // namespace

namespace {

// One SB: sandbox downloaded and unpacked into the job directory; the number of files.
std::uint64_t fetch_registered_sandbox(const ServiceClient& store, const std::string& entry,
                                       const fs::path& jobdir, const SandboxPolicy& policy,
                                       std::size_t n) {
  if (store.urls.empty())
    throw jobs::JobPreparationError(
        kFailed, "InputSandbox entry '" + entry +
                     "' needs a SandboxStore and none is configured (services.sandbox_store)");
  fs::path archive = jobdir / (".input-sandbox-" + std::to_string(n));
  struct RemoveArchive {
    const fs::path& p;
    ~RemoveArchive() {
      std::error_code ec;
      fs::remove(p, ec);
    }
  } remove{archive};
  try {
    download_sandbox(store, entry, archive, policy.max_download);
    auto r = sandbox::extract_archive(archive, jobdir, policy.extract);
    store.log.info("input sandbox unpacked",
                   {{"sandbox", entry}, {"files", r.files}, {"bytes", r.bytes}});
    return r.files;
  } catch (const jobs::JobPreparationError&) {
    throw;
  } catch (const std::exception& e) {
    throw jobs::JobPreparationError(kFailed, "InputSandbox entry '" + entry + "': " + e.what());
  }
}

// A submitter's local file, shipped inside the SB: sandboxes: as DIRAC's JobWrapper, a file that
// is a tar archive is unpacked too, and one the sandboxes lack is only warned about (the job
// runs, as it would under DIRAC).
std::uint64_t settle_local_file(const ServiceClient& store, const std::string& entry,
                                const fs::path& jobdir, const SandboxPolicy& policy) {
  auto name = jobs::input_file_name(entry);
  fs::path file = jobdir / name;
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(file, ec))) {
    store.log.warn("an InputSandbox file is in none of the job's sandboxes",
                   {{"entry", entry}, {"file", name}});
    return 0;
  }
  if (!sandbox::is_tar_archive(file)) return 0;
  try {
    auto r = sandbox::extract_archive(file, jobdir, policy.extract);
    store.log.info("input sandbox file unpacked",
                   {{"file", name}, {"files", r.files}, {"bytes", r.bytes}});
    return r.files;
  } catch (const std::exception& e) {
    throw jobs::JobPreparationError(kFailed, "InputSandbox entry '" + entry + "': " + e.what());
  }
}

}  // namespace

std::uint64_t fetch_input_sandbox(const ServiceClient& store,
                                  const std::vector<std::string>& input_sandbox,
                                  const fs::path& jobdir, const SandboxPolicy& policy) {
  for (const auto& entry : input_sandbox)
    if (istarts_with(entry, "LFN:"))
      throw jobs::JobPreparationError(
          kFailedLfn,
          "InputSandbox entry '" + entry + "' is an LFN: this pilot does not download grid files");
  std::uint64_t files = 0;
  std::size_t n = 0;
  for (const auto& entry : input_sandbox)
    if (istarts_with(entry, "SB:"))
      files += fetch_registered_sandbox(store, entry, jobdir, policy, n++);
  for (const auto& entry : input_sandbox)
    if (!istarts_with(entry, "SB:")) files += settle_local_file(store, entry, jobdir, policy);
  return files;
}

PackedOutput pack_output_sandbox(const fs::path& workdir, const jobs::JobDescription& description,
                                 const nlohmann::json& record, const fs::path& archive) {
  PackedOutput out;
  std::vector<sandbox::ArchiveMember> members;
  std::vector<fs::path> plain_files;  // decompressed logs, removed once packed
  struct RemovePlain {
    std::vector<fs::path>& files;
    ~RemovePlain() {
      std::error_code ec;
      for (const auto& f : files) fs::remove(f, ec);
    }
  } remove_plain{plain_files};
  auto add = [&](const std::string& rel) {
    if (std::find(out.files.begin(), out.files.end(), rel) != out.files.end()) return;
    out.files.push_back(rel);
    members.push_back({workdir / rel, rel});
  };
  for (const auto& entry : description.output_sandbox) {
    if (!safe_relative(entry)) {
      out.unmatched.push_back(entry);
      continue;
    }
    auto found = matches(workdir, entry);
    if (found.empty()) {
      // The wrapper keeps the payload's stdout/stderr compressed: the user asked for "std.out"
      // and gets it plain, as DIRAC delivers it.
      for (const auto& z : matches(workdir, entry + ".zst")) {
        auto plain_name = z.substr(0, z.size() - 4);
        if (std::find(out.files.begin(), out.files.end(), plain_name) != out.files.end()) continue;
        fs::path plain = archive.parent_path() / (archive.filename().string() + "." +
                                                  std::to_string(plain_files.size()) + ".plain");
        plain_files.push_back(plain);
        try {
          std::ofstream f(plain, std::ios::binary | std::ios::trunc);
          decompress_to(workdir / z, f);
          f.close();
          if (!f) throw Error("cannot write " + plain.string());
          out.files.push_back(plain_name);
          members.push_back({plain, plain_name});
        } catch (const Error&) {
          add(z);  // a damaged log still goes as it is
        }
        found.push_back(z);
      }
    } else {
      for (const auto& f : found) add(f);
    }
    if (found.empty()) out.unmatched.push_back(entry);
  }
  for (const auto& log : {description.std_output, description.std_error}) {
    std::error_code ec;
    if (!log.empty() && safe_relative(log) && fs::is_regular_file(workdir / (log + ".zst"), ec))
      add(log + ".zst");
  }
  fs::path record_file = archive;
  record_file += ".job.json";
  write_file_atomic(record_file, record.dump(2) + "\n");
  members.push_back({record_file, "job.json"});
  out.files.push_back("job.json");
  try {
    sandbox::create_tar_bz2(archive, members);
  } catch (...) {  // the record copy goes whatever failed; the error itself is rethrown
    std::error_code ec;
    fs::remove(record_file, ec);
    throw;
  }
  std::error_code ec;
  fs::remove(record_file, ec);
  return out;
}

fs::path pending_output_dir(const fs::path& state_dir, std::int64_t job_id) {
  return state_dir / "output-sandboxes" / std::to_string(job_id);
}

void keep_pending_output(const PendingOutput& p) {
  nlohmann::json j = {{"job_id", p.job_id}};
  if (p.final_status) j["final_status"] = status_json(*p.final_status);
  write_file_atomic(p.dir / "pending.json", j.dump(2) + "\n");
}

std::vector<PendingOutput> list_pending_outputs(const fs::path& state_dir, const log::Logger& log) {
  std::vector<PendingOutput> out;
  std::error_code ec;
  for (fs::directory_iterator it(state_dir / "output-sandboxes", ec), end; !ec && it != end;
       it.increment(ec)) {
    try {
      auto text = read_file(it->path() / "pending.json");
      if (!text || !fs::exists(it->path() / "sandbox.tar.bz2")) continue;  // still being written
      auto j = nlohmann::json::parse(*text);
      PendingOutput p;
      auto id = json_number<std::int64_t>(j.at("job_id"));
      if (!id) throw Error("its job_id is not an integer");
      p.job_id = *id;
      p.dir = it->path();
      if (j.contains("final_status")) {
        const auto& f = j["final_status"];
        jobs::StatusUpdate s;
        s.status = f.value("status", "");
        s.minor_status = f.value("minor_status", "");
        s.application_status = f.value("application_status", "");
        s.source = f.value("source", "JobWrapper");
        p.final_status = s;
      }
      out.push_back(std::move(p));
    } catch (const std::exception& e) {
      log.warn("unreadable pending output sandbox left alone",
               {{"dir", it->path().string()}, {"error", e.what()}});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.job_id < b.job_id; });
  return out;
}

std::optional<std::string> upload_with_retries(const ServiceClient& store, const fs::path& archive,
                                               std::int64_t job_id, const SandboxPolicy& policy) {
  for (int attempt = 1; attempt <= std::max(1, policy.upload_attempts); ++attempt) {
    try {
      return upload_output_sandbox(store, archive, job_id);
    } catch (const std::exception& e) {
      auto* rpc = dynamic_cast<const RpcError*>(&e);
      if (rpc && rpc->kind == ErrorKind::given_up) return std::nullopt;  // kept for the next pilot
      store.log.warn("output sandbox upload failed", {{"job_id", job_id},
                                                      {"attempt", attempt},
                                                      {"of", policy.upload_attempts},
                                                      {"error", e.what()}});
      if (attempt < policy.upload_attempts) std::this_thread::sleep_for(policy.upload_retry_delay);
    }
  }
  return std::nullopt;
}

}  // namespace pilot::dirac
