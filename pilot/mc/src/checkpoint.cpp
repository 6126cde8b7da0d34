#include "mc/checkpoint.hpp"

#include <charconv>

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/json_number.hpp"
#include "core/trim.hpp"

namespace pilot::mc {
Checkpoint parse_checkpoint(std::string_view text, std::string_view source) {
  Checkpoint cp;
  bool have_events = false;
  int line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    auto where = [&] { return std::string(source) + " line " + std::to_string(line_no); };
    auto eq = line.find('=');
    if (eq == std::string_view::npos)
      throw Error(where() + ": expected key=value, got '" + std::string(line) + "'");
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (key == "events") {
      std::int64_t n = -1;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n < 0)
        throw Error(where() + ": events must be a non-negative integer, got '" +
                    std::string(value) + "'");
      cp.events = n;
      have_events = true;
    } else if (key == "output") {
      if (value.empty()) throw Error(where() + ": empty output path");
      cp.outputs.emplace_back(value);
    } else if (!key.empty()) {
      cp.extras[std::string(key)] = std::string(value);
    }
  }
  if (!have_events) throw Error(std::string(source) + ": no events=<count> line");
  return cp;
}

std::optional<Checkpoint> read_checkpoint(const std::filesystem::path& file) {
  auto text = read_file(file, 1 << 20);
  if (!text) return std::nullopt;
  return parse_checkpoint(*text, file.string());
}

std::string format_checkpoint(const Checkpoint& cp) {
  std::string out = "events=" + std::to_string(cp.events) + "\n";
  for (const auto& o : cp.outputs) out += "output=" + o + "\n";
  for (const auto& [k, v] : cp.extras) out += k + "=" + v + "\n";
  return out;
}

nlohmann::json to_json(const Checkpoint& cp) {
  return {{"events", cp.events}, {"outputs", cp.outputs}, {"extras", cp.extras}};
}

Checkpoint checkpoint_from_json(const nlohmann::json& j) {
  Checkpoint cp;
  auto events = j.contains("events") ? json_number<std::int64_t>(j["events"]) : std::nullopt;
  if (!events || *events < 0) throw Error("checkpoint record: 'events' is not a count of events");
  cp.events = *events;
  cp.outputs = j.value("outputs", std::vector<std::string>{});
  cp.extras = j.value("extras", std::map<std::string, std::string>{});
  return cp;
}

}  // namespace pilot::mc
