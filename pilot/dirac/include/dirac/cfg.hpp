#pragma once
// DIRAC's configuration files (the `diraccfg` format a payload's DIRAC reads through
// DIRACSYSCONFIG): sections in braces, one `name = value` option a line, lists as comma-separated
// values, whole-line `#` comments. The format has no quoting and no escapes, so the writer refuses
// what DIRAC would read back differently (a newline in a value, a comma inside a list item, a
// brace or '=' in a name, blanks around a value), naming the option's path; nothing is silently
// changed. The reader follows diraccfg's rules, for tests and for configuration a site hands in.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::dirac {

class CfgSection {
 public:
  // `path` names the section in errors ("/" for the root, "/LocalSite" below it).
  explicit CfgSection(std::string path = "/");
  CfgSection(const CfgSection& other);
  CfgSection& operator=(const CfgSection& other);
  CfgSection(CfgSection&&) noexcept = default;
  CfgSection& operator=(CfgSection&&) noexcept = default;
  ~CfgSection();

  // Sets option `name`, replacing its value in place when present, else appending it. Throws
  // pilot::Error naming the path for a name or value diraccfg cannot carry, and for a name that
  // is already a section.
  CfgSection& set(std::string_view name, std::string_view value);
  // A list option: the items joined with ", " (DIRAC splits at ',' and strips each item). Throws
  // as set() does, and for an item that is empty or holds a ','.
  CfgSection& set_list(std::string_view name, const std::vector<std::string>& items);
  // The subsection `name`, appended when absent. Throws for a name that is already an option.
  CfgSection& section(std::string_view name);

  // Option `name` of this section; nullopt when absent.
  std::optional<std::string> option(std::string_view name) const;
  // The subsection `name`; nullptr when absent.
  const CfgSection* find_section(std::string_view name) const;
  // The option at an absolute or relative path ("/DIRAC/Setup", "LocalSite/Site"); nullopt when
  // a section or the option on the way is absent.
  std::optional<std::string> value_at(std::string_view path) const;
  // The list option at `path` split as DIRAC splits it (at ',', items stripped, empty ones
  // dropped); empty when absent.
  std::vector<std::string> list_at(std::string_view path) const;

  // The entries in order: an option has a value, a section has `section` set.
  struct Entry;
  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& path() const { return path_; }

  // Merges `other` into this section: its options replace or join these, its sections merge
  // into the ones of the same name (diraccfg's mergeWith).
  void merge(const CfgSection& other);

 private:
  Entry* find(std::string_view name);
  const Entry* find(std::string_view name) const;
  std::string child_path(std::string_view name) const;

  std::string path_;
  std::vector<Entry> entries_;
};

struct CfgSection::Entry {
  std::string name;
  std::string value;                      // an option's value
  std::unique_ptr<CfgSection> section{};  // set for a section
};

// The text DIRAC reads back as `root`: two blanks of indentation a level.
std::string to_cfg_text(const CfgSection& root);

// Reads diraccfg text. Throws pilot::Error naming `source` and the line for a brace that closes
// nothing, a section never closed, or an option outside any name.
CfgSection parse_cfg(std::string_view text, std::string_view source);

}  // namespace pilot::dirac
