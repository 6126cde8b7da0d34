#include "mc/xml_summary.hpp"

#include <charconv>
#include <pugixml.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/trim.hpp"

namespace pilot::mc {
namespace {

// pugixml's text of a node, trimmed.
std::string trimmed(const char* s) {
  return std::string(trim(s));
}

std::int64_t to_count(const std::string& text, std::string_view source, const std::string& what) {
  std::int64_t n = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || n < 0)
    throw Error(std::string(source) + ": " + what + " is not an event count: '" + text + "'");
  return n;
}

std::vector<SummaryFile> files(const pugi::xml_node& parent, std::string_view source) {
  std::vector<SummaryFile> out;
  std::int64_t total = 0;
  for (auto f : parent.children("file")) {
    SummaryFile sf;
    sf.name = f.attribute("name").as_string();
    sf.guid = f.attribute("GUID").as_string();
    sf.status = f.attribute("status").as_string();
    sf.events = to_count(trimmed(f.child_value()), source, "file " + sf.name);
    // events() adds the counts up: a sum beyond 64 bits is garbage, not a count.
    if (__builtin_add_overflow(total, sf.events, &total))
      throw Error(std::string(source) + ": the event counts of <" + parent.name() +
                  "> add up to more than 2^63");
    out.push_back(std::move(sf));
  }
  return out;
}

}  // namespace

bool XmlSummary::finalised() const {
  if (!success || step != "finalize") return false;
  for (const auto* list : {&inputs, &outputs})
    for (const auto& f : *list)
      if (f.status != "full") return false;
  return true;
}

std::int64_t XmlSummary::events() const {
  const auto& list = inputs.empty() ? outputs : inputs;
  std::int64_t n = 0;
  for (const auto& f : list) n += f.events;
  return n;
}

XmlSummary parse_xml_summary(std::string_view text, std::string_view source) {
  pugi::xml_document doc;
  auto res = doc.load_buffer(text.data(), text.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!res)
    throw Error(std::string(source) + ": not well-formed XML at offset " +
                std::to_string(res.offset) + ": " + res.description());
  auto root = doc.child("summary");
  if (!root) throw Error(std::string(source) + ": no <summary> root element");
  XmlSummary s;
  s.success = trimmed(root.child_value("success")) == "True";
  s.step = trimmed(root.child_value("step"));
  s.inputs = files(root.child("input"), source);
  s.outputs = files(root.child("output"), source);
  for (auto c : root.child("counters").children("counter")) {
    std::string v = trimmed(c.child_value());
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec == std::errc() && end == v.data() + v.size())
      s.counters[c.attribute("name").as_string()] = n;
  }
  return s;
}

std::optional<XmlSummary> read_xml_summary(const std::filesystem::path& file) {
  auto text = read_file(file, 16 << 20);
  if (!text) return std::nullopt;
  return parse_xml_summary(*text, file.string());
}

std::optional<std::filesystem::path> find_xml_summary(const std::filesystem::path& job_dir,
                                                      const std::string& named) {
  std::error_code ec;
  if (!named.empty()) {
    auto p =
        std::filesystem::path(named).is_absolute() ? std::filesystem::path(named) : job_dir / named;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  std::optional<std::filesystem::path> best;
  std::filesystem::file_time_type best_time;
  for (auto it = std::filesystem::directory_iterator(job_dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    auto name = it->path().filename().string();
    if (!name.starts_with("summary") || !name.ends_with(".xml") || !it->is_regular_file(ec))
      continue;
    auto t = it->last_write_time(ec);
    if (!best || t > best_time) {
      best = it->path();
      best_time = t;
    }
  }
  return best;
}

nlohmann::json to_json(const XmlSummary& s) {
  auto files = [](const std::vector<SummaryFile>& list) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& f : list)
      a.push_back({{"name", f.name}, {"guid", f.guid}, {"status", f.status}, {"events", f.events}});
    return a;
  };
  return {{"success", s.success},       {"step", s.step},
          {"finalised", s.finalised()}, {"events", s.events()},
          {"inputs", files(s.inputs)},  {"outputs", files(s.outputs)},
          {"counters", s.counters}};
}

}  // namespace pilot::mc
