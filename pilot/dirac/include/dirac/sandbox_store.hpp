#pragma once
// Client of DIRAC's WorkloadManagement/SandboxStore over DISET file transfers (dips://), the
// transport DIRAC v8 offers a pilot for both directions: download of the `SB:<SE>|<path>`
// references a job's InputSandbox lists ("FileTransfer"/"ToClient"), upload of the output
// sandbox with its assignment to the job ("FileTransfer"/"FromClient", file id
// ["<md5>.tar.bz2", {"Job:<id>": "Output"}]). The exact bytes are in README.md, "Sandboxes".

#include <cstdint>
#include <filesystem>
#include <string>

#include "dirac/services.hpp"

namespace pilot::dirac {

struct SandboxReference {
  std::string storage_element;  // e.g. "ProductionSandboxSE"
  std::string path;             // e.g. "/SandBox/u/user.group/1a2/b3c/1a2b3c....tar.bz2"
};
// "SB:<SE>|<path>"; throws pilot::Error naming the reference when it is not one.
SandboxReference parse_sandbox_reference(const std::string& reference);

// Downloads the sandbox `reference` into `dest_file` (replaced), trying the store's URLs in
// order; checks the MD5 the server sends at the end. Throws RpcError (transport, timeout,
// protocol: also a transfer larger than `max_bytes` or a checksum mismatch) or ServiceError (the
// store refused, e.g. "Sandbox does not exist"). Returns the size.
std::uint64_t download_sandbox(const ServiceClient& store, const std::string& reference,
                               const std::filesystem::path& dest_file, std::uint64_t max_bytes);

// Uploads the tar.bz2 `archive` as the output sandbox of `job_id` (assigned to "Job:<id>" as
// "Output" by the same call, as DIRAC's SandboxStoreClient does) and returns the SB: reference the
// store registered. Same errors as download_sandbox; a store that aborts the transfer (e.g.
// "Sandbox is too big") is a ServiceError.
std::string upload_output_sandbox(const ServiceClient& store, const std::filesystem::path& archive,
                                  std::int64_t job_id);

}  // namespace pilot::dirac

// ---- the job's side: what DiracJobSource does with the store

#include <chrono>
#include <optional>
#include <vector>

#include "jobs/job_source.hpp"
#include "sandbox/tar.hpp"

namespace pilot::dirac {

struct SandboxPolicy {
  sandbox::ExtractLimits extract;             // per input sandbox
  std::uint64_t max_download = 100ULL << 20;  // one compressed input sandbox
  int upload_attempts = 3;                    // per finish_job or retry round
  std::chrono::milliseconds upload_retry_delay{2000};
};

// Downloads every `SB:` entry of a job's InputSandbox and unpacks it into `jobdir`; then, as
// DIRAC's JobWrapper, takes every other entry as the file of its last component inside the
// unpacked sandboxes, unpacks it when it is a tar archive and only warns when it is missing. Throws
// jobs::JobPreparationError: "Failed Downloading InputSandbox LFN(s)" for LFN entries (this
// pilot has no data management), "Failed Downloading InputSandbox" for anything else (no store
// configured, download or unpack failure), the detail naming the entry. Returns the number of
// files unpacked.
std::uint64_t fetch_input_sandbox(const ServiceClient& store,
                                  const std::vector<std::string>& input_sandbox,
                                  const std::filesystem::path& jobdir, const SandboxPolicy& policy);

struct PackedOutput {
  std::vector<std::string> files;      // archive names, in order
  std::vector<std::string> unmatched;  // OutputSandbox entries that matched nothing
};
// Packs into `archive` the files the OutputSandbox entries (globs allowed, relative to `workdir`;
// absolute or '..' entries are noted as unmatched) name, plus the pilot's own record of the job:
// the wrapper's compressed logs (*.zst of StdOutput/StdError) and job.json (`record`).
PackedOutput pack_output_sandbox(const std::filesystem::path& workdir,
                                 const jobs::JobDescription& description,
                                 const nlohmann::json& record,
                                 const std::filesystem::path& archive);

// Output sandboxes not delivered yet, kept in `<state_dir>/output-sandboxes/<job id>/`
// (sandbox.tar.bz2 and pending.json with the final status to report once it is delivered).
struct PendingOutput {
  std::int64_t job_id = 0;
  std::filesystem::path dir;
  std::optional<jobs::StatusUpdate> final_status;
};
std::filesystem::path pending_output_dir(const std::filesystem::path& state_dir,
                                         std::int64_t job_id);
void keep_pending_output(const PendingOutput& pending);
// Sorted by job id; entries that cannot be read are skipped with a warning on `log`.
std::vector<PendingOutput> list_pending_outputs(const std::filesystem::path& state_dir,
                                                const log::Logger& log);

// Uploads `archive` with up to policy.upload_attempts tries. Returns the SB: reference, or
// nullopt after the last failure (each logged).
std::optional<std::string> upload_with_retries(const ServiceClient& store,
                                               const std::filesystem::path& archive,
                                               std::int64_t job_id, const SandboxPolicy& policy);

}  // namespace pilot::dirac
