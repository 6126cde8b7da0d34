#pragma once
// Runs tests/fake_dirac/fake_dirac.py as a real process on 127.0.0.1 with the test PKI, for the
// integration tests: URLs of its services, its control file, and the calls it recorded.

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/fs.hpp"
#include "dirac/rpc.hpp"

namespace pilot::dirac::test {

// The test PKI, made once per test process by make-test-pki.sh.
const std::filesystem::path& pki();

// Credentials of the PKI: proxy file name (proxy.pem, expired_proxy.pem, ...) and the trusted CA
// directory ("certificates") or the wrong one ("wrong-certificates").
Credentials proxy_credentials(const std::string& proxy = "proxy.pem",
                              const std::string& ca = "certificates");
Credentials host_credentials();

// What the fake ProxyManager returns for the owner (OWNER_DN): `request_pem` signed by the owner's
// stored proxy for `lifetime_s` seconds, then the stored chain. Throws pilot::Error.
std::string sign_with_owner_proxy(const std::string& request_pem, int lifetime_s);

// tests/fake_dirac/fake_jobexec.py: DIRAC's dirac-jobexec as the tests' DIRAC runtime holds it.
std::filesystem::path fake_jobexec();

// A tar archive made by Python's tarfile, as DIRAC packs sandboxes: `code` adds members to `tf`
// (see tar_member). `mode` is tarfile's, e.g. "w:bz2".
std::filesystem::path python_tar(const std::filesystem::path& out, const std::string& mode,
                                 const std::string& code);
// The tarfile code adding a regular file `name` whose content is the Python bytes expression
// `data`.
std::string tar_member(const std::string& name, const std::string& data, int mode = 0644);
inline const std::string kOwnerDn = "/C=ch/O=DIRAC/OU=DIRAC CI/CN=owner";
inline const std::string kPilotDn = "/C=ch/O=DIRAC/OU=DIRAC CI/CN=pilot";

// The DIRAC release the fake server acts as: v8 unless the environment says
// PILOT_FAKE_DIRAC=v9 (ctest runs the agent's end-to-end and fault tests once per release, see
// pilot/agent/CMakeLists.txt) or the test passes --v9 itself.
enum class DiracRelease { v8, v9 };
DiracRelease release_from_environment();

class FakeDirac {
 public:
  explicit FakeDirac(std::vector<std::string> flags = {});
  ~FakeDirac();
  FakeDirac(const FakeDirac&) = delete;
  FakeDirac& operator=(const FakeDirac&) = delete;

  std::string diset_url(const std::string& service = "WorkloadManagement/Matcher") const;
  std::string https_url(
      const std::string& service = "WorkloadManagement/TornadoJobStateUpdate") const;
  // Replaces the control file (see fake_dirac.py).
  void control(const nlohmann::json& settings) const;
  // Every call recorded so far, oldest first.
  std::vector<nlohmann::json> records() const;
  std::vector<nlohmann::json> calls(const std::string& method) const;
  DiracRelease release() const { return release_; }

 private:
  TempDir dir_;
  DiracRelease release_ = DiracRelease::v8;
  int pid_ = -1;
  int diset_port_ = 0;
  int https_port_ = 0;
};

}  // namespace pilot::dirac::test
