// DISET file transfers, as DIRAC's TransferClient/FileHelper speak them: after the accepted
// proposal, the client sends S_OK([fileId, token(, size)]) and the server answers S_OK("Accepted").
// Data then flows as frames S_OK([True, <chunk>]), each acknowledged by S_OK() from the receiver,
// closed by S_OK([False, "<md5 hex of all chunks>"]); the server's last frame is the result.

#include "dirac/sandbox_store.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <memory>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "diset_channel.hpp"

namespace pilot::dirac {
namespace {

constexpr std::size_t kChunk = 1 << 20;  // DIRAC's FileHelper packet size

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) != 1)
      throw Error("cannot start an MD5 digest");
  }
  void update(std::string_view d) { EVP_DigestUpdate(ctx_.get(), d.data(), d.size()); }
  std::string hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md, &len);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
      out += digits[md[i] >> 4];
      out += digits[md[i] & 15];
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

std::string md5_of_file(const std::filesystem::path& p) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_errno("cannot read " + p.string(), errno);
  Md5 md5;
  std::string buf(1 << 16, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + p.string(), errno);
    if (n == 0) break;
    md5.update(std::string_view(buf.data(), static_cast<std::size_t>(n)));
  }
  return md5.hex();
}

[[noreturn]] void refused(const std::string& where, const Reply& r) {
  throw ServiceError(where + ": refused by the SandboxStore: " + r.message +
                         (r.errno_value ? " (Errno " + std::to_string(r.errno_value) + ")" : ""),
                     r.errno_value);
}

// A data frame's [flag, payload]; throws protocol errors naming `where`.
std::pair<bool, std::string> data_frame(const Reply& r, const std::string& where) {
  const auto* seq = r.value.is<List>() || r.value.is<Tuple>() ? &r.value.as_sequence() : nullptr;
  if (!seq || seq->size() != 2 || !(*seq)[0].is<bool>())
    throw RpcError(ErrorKind::protocol,
                   where + ": malformed transfer frame " + to_debug_string(r.value).substr(0, 100));
  const Value& payload = (*seq)[1];
  if (payload.is<Bytes>()) return {(*seq)[0].as_bool(), std::get<Bytes>(payload.variant()).data};
  return {(*seq)[0].as_bool(), payload.as_string(where + " transfer payload")};
}

// The file id of a download, in the two forms stores take. v8's SandboxStoreHandler removes its
// own configured URL from the id and looks up what is left, so the bare path works whatever
// host name the pilot reaches it by (a URL with another spelling of the host is refused); v9's
// keeps what follows the service name, so it needs the URL form.
std::string path_file_id(const SandboxReference& ref) {
  return ref.path;
}
std::string url_file_id(const std::string& url, const SandboxReference& ref) {
  ServiceUrl u = parse_service_url(url);
  return "dips://" + u.host + ":" + std::to_string(u.port) + "/" + u.path + ref.path;
}

std::uint64_t download_once(const std::string& url, const std::string& reference,
                            const std::string& file_id, const std::filesystem::path& dest,
                            std::uint64_t max_bytes, const RpcOptions& options) {
  auto s = detail::open_diset_session(url, "FileTransfer", "ToClient", options);
  const std::string where = url + " download of " + reference;
  s->channel.send(s_ok(list({file_id, "CheckSum"})), "sending the file id");
  Reply accepted = parse_reply(s->channel.receive("waiting for the transfer's acceptance"), where);
  if (!accepted.ok) refused(where, accepted);

  std::filesystem::path tmp = dest;
  tmp += ".part";
  UniqueFd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!out) throw_errno("cannot create " + tmp.string(), errno);
  Md5 md5;
  std::uint64_t total = 0;
  try {
    for (;;) {
      Reply frame = parse_reply(s->channel.receive("receiving sandbox data"), where);
      if (!frame.ok) refused(where, frame);
      auto [more, payload] = data_frame(frame, where);
      if (!more) {
        std::string mine = md5.hex();
        if (payload != mine)
          throw RpcError(ErrorKind::protocol,
                         where + ": MD5 mismatch (server " + payload + ", received " + mine + ")");
        break;
      }
      total += payload.size();
      if (total > max_bytes)
        throw RpcError(ErrorKind::protocol, where + ": sandbox larger than the limit of " +
                                                std::to_string(max_bytes) + " bytes");
      md5.update(payload);
      for (std::size_t off = 0; off < payload.size();) {
        ssize_t w = ::write(out.get(), payload.data() + off, payload.size() - off);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) throw_errno("cannot write " + tmp.string(), errno);
        off += static_cast<std::size_t>(w);
      }
      s->channel.send(s_ok(), "acknowledging sandbox data");
    }
    Reply result = parse_reply(s->channel.receive("waiting for the transfer's result"), where);
    if (!result.ok) refused(where, result);
    sync_file(out.get(), tmp);
  } catch (...) {  // the partial download goes whatever failed; the error itself is rethrown
    ::unlink(tmp.c_str());
    throw;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, dest, ec);
  if (ec) throw Error("cannot rename " + tmp.string() + ": " + ec.message());
  return total;
}

std::string upload_once(const std::string& url, const std::filesystem::path& archive,
                        const std::string& md5, std::int64_t job_id, const RpcOptions& options) {
  UniqueFd in(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) throw_errno("cannot read " + archive.string(), errno);
  auto size = static_cast<std::int64_t>(std::filesystem::file_size(archive));
  auto s = detail::open_diset_session(url, "FileTransfer", "FromClient", options);
  const std::string where = url + " upload of the output sandbox of job " + std::to_string(job_id);
  Value file_id = list({md5 + ".tar.bz2", dict({{"Job:" + std::to_string(job_id), "Output"}})});
  s->channel.send(s_ok(list({file_id, "", size})), "sending the file id");
  Reply accepted = parse_reply(s->channel.receive("waiting for the transfer's acceptance"), where);
  if (!accepted.ok) refused(where, accepted);

  Md5 sent;
  std::string buf(kChunk, '\0');
  bool aborted = false;
  for (;;) {
    ssize_t n = ::read(in.get(), buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno("cannot read " + archive.string(), errno);
    if (n == 0) break;
    std::string chunk(buf.data(), static_cast<std::size_t>(n));
    sent.update(chunk);
    s->channel.send(s_ok(list({true, Bytes{std::move(chunk)}})), "sending sandbox data");
    Value ack = s->channel.receive("waiting for the data acknowledgement");
    Reply r = parse_reply(ack, where);
    if (!r.ok) refused(where, r);
    // The store stops a transfer it will not take (too big, already stored) with AbortTransfer.
    const Value* abort = ack.as_dict().find("AbortTransfer");
    if (abort && abort->is<bool>() && abort->as_bool()) {
      aborted = true;
      break;
    }
  }
  if (!aborted) s->channel.send(s_ok(list({false, sent.hex()})), "sending the end of the data");
  Reply result = parse_reply(s->channel.receive("waiting for the transfer's result"), where);
  if (!result.ok) refused(where, result);
  const std::string& sb = result.value.as_string(where + " result");
  parse_sandbox_reference(sb);
  return sb;
}

// Runs `attempt` on each URL in turn, as rpc.hpp's call() does for RPCs.
template <typename F>
auto over_urls(const ServiceClient& store, const std::string& what, F attempt) {
  if (store.urls.empty()) throw Error(what + ": no SandboxStore URL configured");
  std::string failures;
  for (std::size_t i = 0; i < store.urls.size(); ++i) {
    try {
      return attempt(store.urls[i]);
    } catch (const RpcError& e) {
      if (!e.retryable() || i + 1 == store.urls.size())
        throw RpcError(e.kind,
                       failures.empty() ? std::string(e.what()) : failures + "; " + e.what());
      store.log.warn("SandboxStore failed, trying the next URL",
                     {{"url", store.urls[i]}, {"error", e.what()}});
      failures += (failures.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  throw Error(what + ": unreachable");
}

}  // namespace

SandboxReference parse_sandbox_reference(const std::string& reference) {
  if (!reference.starts_with("SB:"))
    throw Error("'" + reference + "' is not a sandbox reference (SB:<SE>|<path>)");
  auto bar = reference.find('|', 3);
  if (bar == std::string::npos || bar == 3 || bar + 1 == reference.size())
    throw Error("'" + reference + "' is not a sandbox reference (SB:<SE>|<path>)");
  SandboxReference r{reference.substr(3, bar - 3), reference.substr(bar + 1)};
  if (r.path.front() != '/') r.path.insert(0, "/");
  return r;
}

std::uint64_t download_sandbox(const ServiceClient& store, const std::string& reference,
                               const std::filesystem::path& dest_file, std::uint64_t max_bytes) {
  SandboxReference ref = parse_sandbox_reference(reference);
  return over_urls(store, "download of " + reference, [&](const std::string& url) {
    try {
      return download_once(url, reference, path_file_id(ref), dest_file, max_bytes, store.options);
    } catch (const ServiceError& e) {
      store.log.info("the SandboxStore refused the sandbox by its path; asking by its URL",
                     {{"url", url}, {"sandbox", reference}, {"error", e.what()}});
      return download_once(url, reference, url_file_id(url, ref), dest_file, max_bytes,
                           store.options);
    }
  });
}

std::string upload_output_sandbox(const ServiceClient& store, const std::filesystem::path& archive,
                                  std::int64_t job_id) {
  std::string md5 = md5_of_file(archive);
  return over_urls(store, "upload of " + archive.string(), [&](const std::string& url) {
    return upload_once(url, archive, md5, job_id, store.options);
  });
}

}  // namespace pilot::dirac
