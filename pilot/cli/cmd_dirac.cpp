// `pilot dirac call` and `pilot dirac proxy-info`: for operators checking connectivity to a DIRAC
// server and the credential the pilot would use, with the pilot's own protocol code.

#include <unistd.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/error.hpp"
#include "dirac/codec.hpp"
#include "dirac/credentials.hpp"
#include "dirac/rpc.hpp"

namespace pilot::cli {
namespace {

struct CallArgs {
  std::string url;
  std::vector<std::string> more_urls;
  std::string method;
  std::string args = "[]";
  std::string setup, vo, version = "v8.0.55";
  std::string proxy, cert, key, ca_dir;
  bool json_diset = false;
  bool token = false;
  double timeout = 30;
};

dirac::Credentials credentials(const CallArgs& a) {
  auto env = dirac::process_env();
  dirac::Credentials c;
  if (!a.proxy.empty() || !a.cert.empty()) {
    c.cert = a.proxy.empty() ? a.cert : a.proxy;
    c.key = a.proxy.empty() ? a.key : "";
    c.host = a.proxy.empty();
    c.ca_dir = a.ca_dir.empty() ? env("X509_CERT_DIR").value_or("/etc/grid-security/certificates")
                                : a.ca_dir;
    return c;
  }
  c = dirac::find_credentials(env, ::getuid());
  if (!a.ca_dir.empty()) c.ca_dir = a.ca_dir;
  return c;
}

int run_call(const CallArgs& a, log::Logger log) {
  dirac::RpcOptions o;
  o.credentials = credentials(a);
  o.setup = a.setup;
  o.vo = a.vo;
  o.client_version = a.version;
  o.diset_json = a.json_diset;
  o.timeout = std::chrono::milliseconds(static_cast<long>(a.timeout * 1000));
  if (a.token) {
    o.bearer_token = dirac::find_bearer_token(dirac::process_env(), ::getuid());
    if (!o.bearer_token)
      throw Error("--token: no bearer token found (BEARER_TOKEN, BEARER_TOKEN_FILE, bt_u<uid>)");
  }
  dirac::Value args;
  try {
    args = dirac::json_decode(a.args);
  } catch (const Error& e) {
    throw Error("ARGS must be a JSON list of the method's arguments: " + std::string(e.what()));
  }
  if (!args.is<dirac::List>())
    throw Error("ARGS must be a JSON list of the method's arguments, got " +
                std::string(args.type_name()));
  std::vector<std::string> urls{a.url};
  urls.insert(urls.end(), a.more_urls.begin(), a.more_urls.end());
  dirac::Reply r = dirac::call(urls, a.method, std::get<dirac::List>(args.variant()), o, log);
  nlohmann::json out =
      r.ok ? nlohmann::json{{"OK", true}, {"Value", dirac::to_json(r.value)}}
           : nlohmann::json{{"OK", false}, {"Message", r.message}, {"Errno", r.errno_value}};
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  return r.ok ? 0 : 1;
}

}  // namespace

void add_dirac_command(Cli& cli) {
  auto* sub = cli.app.add_subcommand("dirac", "Talk to a DIRAC server the way the pilot does");
  sub->require_subcommand(1);

  auto a = std::make_shared<CallArgs>();
  auto* call = sub->add_subcommand("call",
                                   "Call one method of a DIRAC service (DISET dips:// or HTTPS "
                                   "https://) and print the result as JSON");
  call->add_option("url", a->url, "Service URL, e.g. dips://host:9170/WorkloadManagement/Matcher")
      ->required();
  call->add_option("method", a->method, "Method name, e.g. requestJob")->required();
  call->add_option(
      "args", a->args,
      "JSON list of the arguments, e.g. '[{\"Site\": \"LCG.CERN.cern\", \"CPUTime\": 86400}]'");
  call->add_option("--also", a->more_urls,
                   "Further URLs of the same service, tried in order after the first");
  call->add_option("--setup", a->setup, "DIRAC setup sent with the call");
  call->add_option("--vo", a->vo, "Virtual organisation sent with the call");
  call->add_option("--client-version", a->version, "DIRAC version announced in the proposal")
      ->capture_default_str();
  call->add_option(
      "--proxy", a->proxy,
      "Proxy file (default: X509_USER_PROXY, /tmp/x509up_u<uid>, then the host certificate)");
  call->add_option("--cert", a->cert, "Host certificate (sends extraCredentials \"hosts\")");
  call->add_option("--key", a->key, "Host key");
  call->add_option("--ca-dir", a->ca_dir,
                   "Hashed CA directory (default: X509_CERT_DIR, /etc/grid-security/certificates)");
  call->add_flag("--json-diset", a->json_diset,
                 "Send DISET payloads as JSON (DIRAC v9) instead of DEncode");
  call->add_flag("--token", a->token, "Also send the bearer token found by WLCG discovery (HTTPS)");
  call->add_option("--timeout", a->timeout, "Seconds allowed for each step")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  call->callback([&cli, a] { cli.run = [&cli, a] { return run_call(*a, cli.logger("dirac")); }; });

  auto file = std::make_shared<std::string>();
  auto* info = sub->add_subcommand(
      "proxy-info", "Show the identity, DIRAC group and lifetime of a proxy or certificate file");
  info->add_option("file", *file, "PEM file (default: the credential the pilot would use)");
  info->callback([&cli, file] {
    cli.run = [file] {
      std::filesystem::path p = file->empty()
                                    ? dirac::find_credentials(dirac::process_env(), ::getuid()).cert
                                    : std::filesystem::path(*file);
      auto i = dirac::read_certificate_info(p);
      auto left = std::chrono::duration_cast<std::chrono::seconds>(
          i.not_after - std::chrono::system_clock::now());
      nlohmann::json out{{"file", p.string()},
                         {"subject", i.subject},
                         {"identity", i.identity},
                         {"issuer", i.issuer},
                         {"is_proxy", i.is_proxy},
                         {"group", i.group ? *i.group : ""},
                         {"seconds_left", left.count() > 0 ? left.count() : 0}};
      std::cout << out.dump(2) << '\n';
      return left.count() > 0 ? 0 : 1;
    };
  });
}

}  // namespace pilot::cli
