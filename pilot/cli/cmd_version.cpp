#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "core/version.hpp"
#include "library_versions.hpp"

namespace pilot::cli {

void add_version_command(Cli& cli) {
  auto* sub = cli.app.add_subcommand("version",
                                     "Print the version, git commit and linked library versions");
  auto json = std::make_shared<bool>(false);
  sub->add_flag("--json", *json, "One JSON object instead of text");
  sub->callback([&cli, json] {
    cli.run = [json] {
      auto libs = library_versions();
      if (*json) {
        nlohmann::ordered_json j;
        j["version"] = version();
        j["git_commit"] = git_commit();
        for (const auto& [name, v] : libs) j["libraries"][name] = v;
        std::cout << j.dump(2) << '\n';
      } else {
        std::cout << "pilot " << version() << "\ncommit " << git_commit() << "\nlibraries:\n";
        for (const auto& [name, v] : libs) std::cout << "  " << name << ' ' << v << '\n';
      }
      return 0;
    };
  });
}

}  // namespace pilot::cli
