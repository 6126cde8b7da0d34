#pragma once
// JDL, the "ClassAd light" job description DIRAC stores and the local queue accepts:
//
//   [ Executable = "/bin/sh"; Arguments = "-c \"echo hi\""; CPUTime = 3600;
//     OutputSandbox = { "std.out", "std.err" }; JobRequirements = [ Sites = "ANY"; ];
//     Requirements = other.Site == "LCG.CERN.cern" && other.CPUTime > 100; ]
//
// Values are strings (ClassAd escapes: \" \\ \' \n \t \r \b \f \a \v \? and octal), integers,
// reals, booleans, lists `{ ... }`, nested blocks `[ ... ]`, and anything else (an expression such
// as `other.Site == "X"`, `undefined`, a negative reals' arithmetic...) kept as its source text.
// Comments `// ...`, `# ...` and `/* ... */` are skipped. The outer brackets may be left out, as
// DIRAC's JobManager allows. Attribute names keep the spelling they were written with; lookups
// ignore case, as in ClassAds, and a name given twice (in any case) is an error rather than a
// silent override.
//
// Malformed input throws pilot::Error "<source>:<line>:<column>: <what>", where <source> names the
// input (a file name, "job 42", ...). Limits guard against hostile or runaway input.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pilot::jobs {

struct JdlAttribute;

struct JdlValue {
  enum class Kind { string, integer, real, boolean, list, block, expression };
  Kind kind = Kind::string;
  std::string text;  // string: the unescaped value; expression: its source text; numbers: literal
  std::int64_t integer = 0;
  double real = 0;
  bool boolean = false;
  std::vector<JdlValue> list;
  std::vector<JdlAttribute> block;
};

struct JdlAttribute {
  std::string name;  // as written
  JdlValue value;
  int line = 0;  // where the name starts, for error messages of later checks
  int column = 0;
};

struct JdlLimits {
  std::size_t max_bytes = 4 << 20;         // whole description
  std::size_t max_string_bytes = 1 << 20;  // one string literal or expression
  int max_depth = 32;                      // nested blocks, lists and parentheses
  std::size_t max_elements = 100000;       // attributes + list elements, all levels
};

// A parsed description: the top-level block.
struct Jdl {
  std::vector<JdlAttribute> attributes;

  // The attribute named `name` (any case), or nullptr.
  const JdlAttribute* find(std::string_view name) const;
};

// Parses `text`; `source` names the input in error messages.
Jdl parse_jdl(std::string_view text, std::string_view source = "JDL", const JdlLimits& limits = {});

// Typed reads of one attribute, with DIRAC's leniency: numbers and booleans may be quoted
// (`Priority = "1"`), and a single string stands for a one-element list. Absent attributes give
// nullopt; present ones of the wrong type throw pilot::Error naming the attribute and the value.
std::optional<std::string> jdl_string(const Jdl& jdl, std::string_view name);
std::optional<std::int64_t> jdl_integer(const Jdl& jdl, std::string_view name);
std::optional<double> jdl_real(const Jdl& jdl, std::string_view name);
std::optional<bool> jdl_boolean(const Jdl& jdl, std::string_view name);
std::optional<std::vector<std::string>> jdl_string_list(const Jdl& jdl, std::string_view name);
// A nested block, e.g. JobRequirements.
std::optional<Jdl> jdl_block(const Jdl& jdl, std::string_view name);

// The value in JDL syntax (strings re-escaped), e.g. for messages and for `pilot queue show`.
std::string to_jdl_text(const JdlValue& value);

const char* kind_name(JdlValue::Kind kind);

}  // namespace pilot::jobs
