#include "core/proc_cgroup.hpp"

#include <charconv>
#include <optional>

#include "core/error.hpp"

namespace pilot {

namespace {

std::vector<std::string> split_controllers(std::string_view list) {
  std::vector<std::string> out;
  for (std::size_t p = 0; p < list.size();) {
    auto comma = list.find(',', p);
    if (comma == std::string_view::npos) comma = list.size();
    if (comma > p) out.emplace_back(list.substr(p, comma - p));
    p = comma + 1;
  }
  return out;
}

std::optional<CgroupMembership> parse_line(std::string_view line) {
  auto c1 = line.find(':');
  auto c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
  CgroupMembership m;
  if (c2 == std::string_view::npos ||
      std::from_chars(line.data(), line.data() + c1, m.hierarchy).ec != std::errc() ||
      line.substr(c2 + 1).empty() || line[c2 + 1] != '/')
    return std::nullopt;
  m.controllers = split_controllers(line.substr(c1 + 1, c2 - c1 - 1));
  m.path = std::string(line.substr(c2 + 1));
  return m;
}

}  // namespace

std::vector<CgroupMembership> parse_proc_cgroup(std::string_view text, MalformedLines malformed) {
  std::vector<CgroupMembership> out;
  for (std::size_t pos = 0; pos < text.size();) {
    auto eol = text.find('\n', pos);
    auto line =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (line.empty()) continue;
    if (auto m = parse_line(line))
      out.push_back(std::move(*m));
    else if (malformed == MalformedLines::refuse)
      throw Error("malformed line in /proc/<pid>/cgroup: '" + std::string(line) + "'");
  }
  return out;
}

}  // namespace pilot
