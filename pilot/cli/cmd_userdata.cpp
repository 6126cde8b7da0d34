#include <fstream>
#include <iostream>

#include "agent/config.hpp"
#include "bootstrap/userdata.hpp"
#include "cli.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::cli {

namespace {
struct UserDataArgs {
  std::string config;
  std::string binary_url;
  std::string sha256;
  std::string release_dir;
  std::vector<std::string> cvmfs;
  int grace = 60;
  int total_cpu = 0;
  double hs06 = 0;
  std::string output;
};
}  // namespace

void add_userdata_command(Cli& cli) {
  auto a = std::make_shared<UserDataArgs>();
  auto* sub = cli.app.add_subcommand("userdata",
                                     "Print a #cloud-config user-data that runs the pilot on a VM");
  sub->add_option("--config", a->config, "Pilot configuration (JSON) to install on the VM")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--binary-url", a->binary_url,
                  "Where the VM fetches the pilot binary (https:// URL or a path in the image)")
      ->required();
  auto* sha = sub->add_option("--sha256", a->sha256, "Expected SHA-256 of the binary");
  sub->add_option("--release-dir", a->release_dir,
                  "Read the SHA-256 from DIR/pilot.sha256 (ci/release output)")
      ->check(CLI::ExistingDirectory)
      ->excludes(sha);
  sub->add_option("--cvmfs", a->cvmfs, "CVMFS repositories the VM must have")->delimiter(',');
  sub->add_option("--grace", a->grace, "Seconds of notice the shutdown hook gives the pilot")
      ->check(CLI::Range(1, 86400));
  sub->add_option("--total-cpu", a->total_cpu, "MJF total_cpu of the VM")
      ->check(CLI::Range(1, 4096));
  sub->add_option("--hs06", a->hs06, "MJF hs06 of the VM")->check(CLI::PositiveNumber);
  sub->add_option("-o,--output", a->output, "Write to FILE instead of standard output");
  sub->callback([&cli, a] {
    cli.run = [a] {
      bootstrap::UserDataOptions o;
      auto text = read_file(a->config).value_or("");
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) throw Error("configuration file " + a->config + " is not valid JSON");
      agent::apply_config(agent::Config{}, j, a->config);  // unknown keys fail here, not on the VM
      o.pilot_config_json = text;
      o.binary_url = a->binary_url;
      o.sha256 = a->sha256;
      if (!a->release_dir.empty()) {
        auto sum = read_file(std::filesystem::path(a->release_dir) / "pilot.sha256");
        if (!sum) throw Error("no pilot.sha256 in " + a->release_dir);
        o.sha256 = sum->substr(0, sum->find_first_of(" \t\n"));
      }
      if (o.sha256.empty()) throw Error("give --sha256 or --release-dir");
      o.cvmfs_repositories = a->cvmfs;
      o.grace_s = a->grace;
      if (a->total_cpu > 0) o.total_cpu = a->total_cpu;
      if (a->hs06 > 0) o.hs06 = a->hs06;
      std::string y = bootstrap::make_user_data(o);
      if (a->output.empty()) {
        std::cout << y;
      } else {
        write_file_atomic(a->output, y, 0644);
      }
      return 0;
    };
  });
}

}  // namespace pilot::cli
