#include "dirac/cfg.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/trim.hpp"

namespace pilot::dirac {

namespace {

// diraccfg reads a line as a section name up to '{', as an option at the first '=' (or "+="),
// and closes a section at '}'; '/' separates the levels of a path; a line starting with '#' is
// a comment.
void check_name(std::string_view name, const std::string& path) {
  if (name.empty()) throw Error("DIRAC configuration: empty name in " + path);
  if (trim(name) != name)
    throw Error("DIRAC configuration: name '" + std::string(name) + "' in " + path +
                " starts or ends with a blank");
  if (name.find_first_of("{}=/\n\r") != std::string_view::npos || name.front() == '#')
    throw Error("DIRAC configuration: name '" + std::string(name) + "' in " + path +
                " holds a character DIRAC reads as syntax ({ } = / newline, or a leading #)");
}

void check_value(std::string_view value, const std::string& where) {
  if (value.find_first_of("\n\r") != std::string_view::npos)
    throw Error("DIRAC configuration: the value of " + where + " holds a line break");
  if (trim(value) != value)
    throw Error("DIRAC configuration: the value of " + where +
                " starts or ends with a blank, which DIRAC strips");
}

std::vector<std::string> split_list(std::string_view value) {
  std::vector<std::string> out;
  while (true) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) return out;
    value.remove_prefix(comma + 1);
  }
}

void write_section(const CfgSection& s, int depth, std::string& out) {
  const std::string indent(static_cast<std::size_t>(depth) * 2, ' ');
  for (const auto& e : s.entries()) {
    if (e.section) {
      out += indent + e.name + "\n" + indent + "{\n";
      write_section(*e.section, depth + 1, out);
      out += indent + "}\n";
    } else {
      out += indent + e.name + " = " + e.value + "\n";
    }
  }
}

}  // namespace

CfgSection::CfgSection(std::string path) : path_(std::move(path)) {}
CfgSection::~CfgSection() = default;

CfgSection::CfgSection(const CfgSection& other) : path_(other.path_) {
  for (const auto& e : other.entries_)
    entries_.push_back(
        {e.name, e.value, e.section ? std::make_unique<CfgSection>(*e.section) : nullptr});
}

CfgSection& CfgSection::operator=(const CfgSection& other) {
  if (this != &other) *this = CfgSection(other);
  return *this;
}

std::string CfgSection::child_path(std::string_view name) const {
  return (path_ == "/" ? "/" : path_ + "/") + std::string(name);
}

CfgSection::Entry* CfgSection::find(std::string_view name) {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

const CfgSection::Entry* CfgSection::find(std::string_view name) const {
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const Entry& e) { return e.name == name; });
  return it == entries_.end() ? nullptr : &*it;
}

CfgSection& CfgSection::set(std::string_view name, std::string_view value) {
  check_name(name, path_);
  auto where = child_path(name);
  check_value(value, where);
  if (auto* e = find(name)) {
    if (e->section) throw Error("DIRAC configuration: " + where + " is a section, not an option");
    e->value = std::string(value);
  } else {
    entries_.push_back({std::string(name), std::string(value)});
  }
  return *this;
}

CfgSection& CfgSection::set_list(std::string_view name, const std::vector<std::string>& items) {
  std::string joined;
  for (const auto& item : items) {
    if (item.empty() || item.find(',') != std::string::npos)
      throw Error("DIRAC configuration: list " + child_path(name) + " item '" + item +
                  "' is empty or holds a ',', which DIRAC reads as two items");
    check_value(item, child_path(name));
    joined += (joined.empty() ? "" : ", ") + item;
  }
  return set(name, joined);
}

CfgSection& CfgSection::section(std::string_view name) {
  check_name(name, path_);
  if (auto* e = find(name)) {
    if (!e->section)
      throw Error("DIRAC configuration: " + child_path(name) + " is an option, not a section");
    return *e->section;
  }
  entries_.push_back({std::string(name), {}, std::make_unique<CfgSection>(child_path(name))});
  return *entries_.back().section;
}

std::optional<std::string> CfgSection::option(std::string_view name) const {
  const auto* e = find(name);
  if (!e || e->section) return std::nullopt;
  return e->value;
}

const CfgSection* CfgSection::find_section(std::string_view name) const {
  const auto* e = find(name);
  return e ? e->section.get() : nullptr;
}

std::optional<std::string> CfgSection::value_at(std::string_view path) const {
  const CfgSection* s = this;
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  for (auto slash = path.find('/'); slash != std::string_view::npos; slash = path.find('/')) {
    s = s->find_section(path.substr(0, slash));
    if (!s) return std::nullopt;
    path.remove_prefix(slash + 1);
  }
  return s->option(path);
}

std::vector<std::string> CfgSection::list_at(std::string_view path) const {
  auto v = value_at(path);
  return v ? split_list(*v) : std::vector<std::string>{};
}

void CfgSection::merge(const CfgSection& other) {
  for (const auto& e : other.entries_) {
    if (e.section)
      section(e.name).merge(*e.section);
    else
      set(e.name, e.value);
  }
}

std::string to_cfg_text(const CfgSection& root) {
  std::string out;
  write_section(root, 0, out);
  return out;
}

namespace {

// One line at a time, as diraccfg reads: text before a '{' names the section it opens (it may
// stand on the lines before), an '=' makes the line an option, "+=" appends to one, '}' closes.
class CfgReader {
 public:
  CfgReader(CfgSection& root, std::string_view source) : source_(source) { open_.push_back(&root); }

  void line(std::string_view text, int number) {
    text = trim(text);
    if (text.empty() || text.front() == '#') return;
    carried_ = trim(pending_);
    for (std::size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      if (c == '{') {
        open_.push_back(&opened(number));
        opened_at_.push_back(number);
        pending_.clear();
        carried_.clear();
      } else if (c == '}') {
        if (open_.size() == 1) fail(number, "'}' closes no section");
        open_.pop_back();
        opened_at_.pop_back();
      } else if (c == '=' || text.substr(i, 2) == "+=") {
        return option(text, c != '=', number);
      } else {
        pending_ += c;
      }
    }
  }

  void end() const {
    if (!opened_at_.empty()) fail(opened_at_.back(), "section opened here is never closed");
  }

 private:
  CfgSection& opened(int number) {
    try {
      return open_.back()->section(trim(pending_));
    } catch (const Error& e) {
      fail(number, e.what());
    }
  }

  void option(std::string_view text, bool append, int number) {
    auto sep = text.find(append ? "+=" : "=");
    auto name = trim(text.substr(0, sep));
    auto value = std::string(trim(text.substr(sep + (append ? 2 : 1))));
    if (name.empty()) fail(number, "an option without a name");
    // diraccfg would take the whole text before '=' as the name, or drop a word left on the
    // lines before: neither is what the writer meant.
    if (name.find_first_of("{}") != std::string_view::npos)
      fail(number, "option name '" + std::string(name) +
                       "' holds a brace: an option stands on a line of its own");
    if (!carried_.empty())
      fail(number, "'" + carried_ + "' before option '" + std::string(name) + "' opens no section");
    auto& s = *open_.back();
    if (append) {
      auto old = s.option(name);
      if (old) value = *old + ", " + value;
    }
    try {
      s.set(name, value);
    } catch (const Error& e) {
      fail(number, e.what());
    }
    pending_.clear();
  }

  [[noreturn]] void fail(int number, const std::string& what) const {
    throw Error(std::string(source_) + ":" + std::to_string(number) + ": " + what);
  }

  std::string_view source_;
  std::vector<CfgSection*> open_;
  std::vector<int> opened_at_;
  std::string pending_;
  std::string carried_;  // what pending_ held from the lines before this one
};

}  // namespace

CfgSection parse_cfg(std::string_view text, std::string_view source) {
  CfgSection root;
  CfgReader reader(root, source);
  int number = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    reader.line(text.substr(0, nl), ++number);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  reader.end();
  return root;
}

}  // namespace pilot::dirac
