#pragma once
// A command whose subcommands are the rows of a table: each row names a subcommand, adds its
// options to one Options object the rows share, and says what runs once parsing has succeeded.

#include <CLI/CLI.hpp>
#include <cstddef>
#include <memory>

#include "cli.hpp"

namespace pilot::cli {

template <class Options>
struct SubcommandRow {
  const char* name;
  const char* description;
  void (*add_options)(CLI::App*, Options&);
  int (*run)(const Options&);
};

// Adds the rows under `parent` in table order, the order --help lists them. `prepare` runs on
// each subcommand before the row's own options: what every row has in common.
template <class Options, std::size_t N>
void add_subcommand_rows(Cli& cli, CLI::App* parent, const SubcommandRow<Options> (&rows)[N],
                         const std::shared_ptr<Options>& options,
                         void (*prepare)(CLI::App*, Options&)) {
  for (const auto& row : rows) {
    auto* sub = parent->add_subcommand(row.name, row.description);
    prepare(sub, *options);
    row.add_options(sub, *options);
    sub->callback(
        [&cli, options, run = row.run] { cli.run = [options, run] { return run(*options); }; });
  }
}

}  // namespace pilot::cli
