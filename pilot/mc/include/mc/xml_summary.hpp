#pragma once
// Gaudi's XML summary (summary.xml, XMLSummary schema): whether the application finalised
// successfully and how many events each input and output file holds.

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::mc {

struct SummaryFile {
  std::string name;  // e.g. "PFN:Gauss.sim"
  std::string guid;
  std::string status;  // "full", "part", "fail", "mult", "none"
  std::int64_t events = 0;
};

struct XmlSummary {
  bool success = false;
  std::string step;  // "initialize", "execute", "finalize"
  std::vector<SummaryFile> inputs;
  std::vector<SummaryFile> outputs;
  std::map<std::string, std::int64_t> counters;

  // success is True, step is finalize and every file is "full": the job's output is complete.
  bool finalised() const;
  // Events produced: the input counts for jobs with input, else the output counts.
  std::int64_t events() const;
};

// Throws pilot::Error naming `source` for text that is not a well-formed summary (XML errors
// with their offset, a missing <summary> root, counts that are not integers).
XmlSummary parse_xml_summary(std::string_view text, std::string_view source = "summary");
std::optional<XmlSummary> read_xml_summary(const std::filesystem::path& file);

// The summary to prefer in a job directory: `named` (JDL XMLSummaryFile) when given and present,
// else the most recently modified summary*.xml. nullopt when there is none.
std::optional<std::filesystem::path> find_xml_summary(const std::filesystem::path& job_dir,
                                                      const std::string& named = {});

nlohmann::json to_json(const XmlSummary& summary);

}  // namespace pilot::mc
