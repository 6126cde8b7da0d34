#include "platform/platforms_list.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fs.hpp"

namespace pilot::platform {

std::vector<std::string> parse_platforms_list(std::string_view json, std::string_view source) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded())
    throw Error("platforms list " + std::string(source) + " is not valid JSON");
  const nlohmann::json* items = &doc;
  if (doc.is_object()) {
    auto rows = doc.find("rows");
    if (rows == doc.end() || !rows->is_array())
      throw Error("platforms list " + std::string(source) + " has no \"rows\" array");
    items = &*rows;
  } else if (!doc.is_array()) {
    throw Error("platforms list " + std::string(source) +
                " is neither a CouchDB view ({\"rows\":[...]}) nor an array of tags");
  }
  std::vector<std::string> tags;
  std::size_t i = 0;
  for (const auto& item : *items) {
    const nlohmann::json* key = &item;
    if (item.is_object()) {
      auto k = item.find("key");
      key = k == item.end() ? nullptr : &*k;
    }
    if (!key || !key->is_string())
      throw Error("platforms list " + std::string(source) + ": entry " + std::to_string(i) +
                  " has no string key");
    auto tag = key->get<std::string>();
    if (tag.find('-') != std::string::npos) tags.push_back(std::move(tag));
    ++i;
  }
  return tags;
}

PlatformsList load_platforms_list(const std::filesystem::path& root,
                                  const std::optional<std::filesystem::path>& explicit_file) {
  PlatformsList out;
  if (explicit_file) {
    auto text = read_file(*explicit_file, 16 << 20);
    if (!text) throw Error("platforms list " + explicit_file->string() + " does not exist");
    out.tags = parse_platforms_list(*text, explicit_file->string());
    out.source = explicit_file->string();
    return out;
  }
  auto cvmfs = root / kCvmfsPlatformsList;
  try {
    if (auto text = read_file(cvmfs, 16 << 20)) {
      out.tags = parse_platforms_list(*text, cvmfs.string());
      out.source = cvmfs.string();
      return out;
    }
  } catch (const Error& e) {
    out.warnings.push_back(std::string(e.what()) + "; using the embedded list");
  }
  for (auto key : embedded_platforms_list_keys())
    if (key.find('-') != std::string_view::npos) out.tags.emplace_back(key);
  out.source = "embedded";
  return out;
}

}  // namespace pilot::platform
