#include "farmsim/cli.hpp"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>
#include <string_view>

namespace pilot::farmsim {

namespace {

struct Arg {
  std::string_view flag;
  std::string_view text;
};

[[noreturn]] void bad(const Arg& a, std::string_view expected) {
  throw UsageError(std::string(a.flag) + ": expected " + std::string(expected) + ", got '" +
                   std::string(a.text) + "'");
}

double number(const Arg& a, std::string_view text, std::string_view expected) {
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) bad(a, expected);
  return v;
}

double number(const Arg& a) {
  return number(a, a.text, "a number");
}

std::int64_t integer(const Arg& a, std::string_view text, std::string_view expected) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) bad(a, expected);
  return v;
}

int small_integer(const Arg& a, std::string_view text, std::string_view expected) {
  std::int64_t v = integer(a, text, expected);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max()) bad(a, expected);
  return static_cast<int>(v);
}

int small_integer(const Arg& a) {
  return small_integer(a, a.text, "a whole number");
}

std::uint64_t seed(const Arg& a) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(a.text.data(), a.text.data() + a.text.size(), v);
  if (ec != std::errc() || end != a.text.data() + a.text.size()) bad(a, "an unsigned integer");
  return v;
}

// Two fields around `sep`; the separator is looked for after the first character, so that a
// negative first field ("-5-10") still splits and is refused by its range check.
std::pair<std::string_view, std::string_view> split(const Arg& a, char sep,
                                                    std::string_view expected) {
  auto at = a.text.size() > 1 ? a.text.find(sep, 1) : std::string_view::npos;
  if (at == std::string_view::npos) bad(a, expected);
  return {a.text.substr(0, at), a.text.substr(at + 1)};
}

void job_lengths(Scenario& s, const Arg& a) {
  auto [min, max] = split(a, '-', "MIN-MAX seconds");
  s.job_min_s = number(a, min, "MIN-MAX seconds");
  s.job_max_s = number(a, max, "MIN-MAX seconds");
}

std::vector<ProcessorShare> processors_mix(const Arg& a) {
  constexpr std::string_view expected = "PROCESSORS:WEIGHT[,PROCESSORS:WEIGHT...]";
  std::vector<ProcessorShare> mix;
  std::string_view rest = a.text;
  while (true) {
    auto comma = rest.find(',');
    Arg item{a.flag, rest.substr(0, comma)};
    auto [processors, weight] = split(item, ':', expected);
    mix.push_back({small_integer(a, processors, expected), number(a, weight, expected)});
    if (comma == std::string_view::npos) return mix;
    rest = rest.substr(comma + 1);
  }
}

void service_dist(Scenario& s, const Arg& a) {
  constexpr std::string_view expected = "const, exp or lognormal:CV";
  auto colon = a.text.find(':');
  auto d = service_dist_from_name(a.text.substr(0, colon));
  if (!d || (*d == ServiceDist::lognormal) != (colon != std::string_view::npos)) bad(a, expected);
  s.service_dist = *d;
  if (*d == ServiceDist::lognormal) s.service_cv = number(a, a.text.substr(colon + 1), expected);
}

std::optional<Outage> outage(const Arg& a) {
  if (a.text == "none") return std::nullopt;
  auto [start, duration] = split(a, ':', "START:DURATION seconds or none");
  return Outage{number(a, start, "START:DURATION seconds or none"),
                number(a, duration, "START:DURATION seconds or none")};
}

std::vector<Policy> policies(const Arg& a) {
  if (a.text == "both") return {Policy::ours, Policy::dirac};
  if (auto p = policy_from_name(a.text)) return {*p};
  bad(a, "ours, dirac or both");
}

ScenarioKind scenario_kind(const Arg& a) {
  if (auto k = scenario_from_name(a.text)) return *k;
  bad(a, "default, hlt or hlt-outage");
}

std::string shown(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string shown_mix(const Scenario& s) {
  std::string out;
  for (const auto& share : s.processors_mix)
    out += (out.empty() ? "" : ",") + shown(share.processors) + ":" + shown(share.weight);
  return out;
}

std::string shown_outage(const Scenario& s) {
  return s.outage ? shown(s.outage->start_s) + ":" + shown(s.outage->duration_s) : "none";
}

std::string shown_service(const Scenario& s) {
  std::string name = service_dist_name(s.service_dist);
  return s.service_dist == ServiceDist::lognormal ? name + ":" + shown(s.service_cv) : name;
}

std::string shown_policies(const Scenario& s) {
  return s.policies.size() == 1 ? policy_name(s.policies.front()) : "both";
}

using Setter = void (*)(CliOptions&, const Arg&);
using Getter = std::string (*)(const Scenario&);  // the value as a flag would give it

struct Flag {
  const char* name;
  const char* value;  // nullptr: takes none
  const char* help;
  Setter set;
  Getter get;  // nullptr: no default
};

std::vector<Flag> farm_flags() {
  return {
      {"--scenario", "NAME", "default, hlt or hlt-outage: the preset the other flags change",
       [](CliOptions&, const Arg&) {},
       [](const Scenario& s) -> std::string { return scenario_name(s.kind); }},
      {"--seed", "N", "random seed", [](CliOptions& o, const Arg& a) { o.scenario.seed = seed(a); },
       [](const Scenario& s) -> std::string { return std::to_string(s.seed); }},
      {"--nodes", "N", "nodes, one pilot each",
       [](CliOptions& o, const Arg& a) { o.scenario.nodes = small_integer(a); },
       [](const Scenario& s) -> std::string { return shown(s.nodes); }},
      {"--slots-per-node", "S", "slots (processors) of a node",
       [](CliOptions& o, const Arg& a) { o.scenario.slots_per_node = small_integer(a); },
       [](const Scenario& s) -> std::string { return shown(s.slots_per_node); }},
      {"--backlog", "N", "jobs waiting at the start (default: 2 x slots)",
       [](CliOptions& o, const Arg& a) {
         o.scenario.backlog = integer(a, a.text, "a whole number");
       },
       nullptr},
      {"--job-s", "MIN-MAX", "job lengths in seconds, uniform",
       [](CliOptions& o, const Arg& a) { job_lengths(o.scenario, a); },
       [](const Scenario& s) -> std::string {
         return shown(s.job_min_s) + "-" + shown(s.job_max_s);
       }},
      {"--processors-mix", "P:W,...", "processors of a job and their weights",
       [](CliOptions& o, const Arg& a) { o.scenario.processors_mix = processors_mix(a); },
       [](const Scenario& s) -> std::string { return shown_mix(s); }},
      {"--start-within-s", "S", "pilots start uniformly within S",
       [](CliOptions& o, const Arg& a) { o.scenario.start_within_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.start_within_s); }},
      {"--duration-s", "S", "simulated time",
       [](CliOptions& o, const Arg& a) { o.scenario.duration_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.duration_s); }},
      {"--step-s", "N", "step of the series, whole seconds",
       [](CliOptions& o, const Arg& a) { o.scenario.step_s = small_integer(a); },
       [](const Scenario& s) -> std::string { return shown(s.step_s); }},
  };
}

std::vector<Flag> matcher_flags() {
  return {
      {"--matcher-workers", "W", "Matcher worker threads",
       [](CliOptions& o, const Arg& a) { o.scenario.matcher_workers = small_integer(a); },
       [](const Scenario& s) -> std::string { return shown(s.matcher_workers); }},
      {"--service-s", "S", "mean service time of a request",
       [](CliOptions& o, const Arg& a) { o.scenario.service_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.service_s); }},
      {"--service-dist", "D", "const, exp or lognormal:CV",
       [](CliOptions& o, const Arg& a) { service_dist(o.scenario, a); },
       [](const Scenario& s) -> std::string { return shown_service(s); }},
      {"--client-timeout-s", "S", "a pilot gives up on a request after S",
       [](CliOptions& o, const Arg& a) { o.scenario.client_timeout_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.client_timeout_s); }},
      {"--outage", "START:DURATION", "Matcher down: refuses all requests",
       [](CliOptions& o, const Arg& a) { o.scenario.outage = outage(a); },
       [](const Scenario& s) -> std::string { return shown_outage(s); }},
      {"--matched-reschedule-s", "S", "a job lost to a time-out is back after S",
       [](CliOptions& o, const Arg& a) { o.scenario.matched_reschedule_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.matched_reschedule_s); }},
  };
}

std::vector<Flag> pacing_flags() {
  return {
      {"--start-spread-s", "S", "ours: first request within S of the start",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.start_spread_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.start_spread_s); }},
      {"--no-match-base-s", "S", "ours: back-off base after no match",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.no_match_base_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.no_match_base_s); }},
      {"--no-match-cap-s", "S", "ours: back-off cap after no match",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.no_match_cap_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.no_match_cap_s); }},
      {"--error-base-s", "S", "ours: back-off base after an error/time-out",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.error_base_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.error_base_s); }},
      {"--error-cap-s", "S", "ours: back-off cap after an error/time-out",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.error_cap_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.error_cap_s); }},
      {"--max-in-flight", "N", "ours: requests out at once",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.max_in_flight = small_integer(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.max_in_flight); }},
      {"--max-requests-per-s", "R", "ours: requests/s while slots are free, 0: none",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.max_requests_per_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.max_requests_per_s); }},
      {"--congestion-latency-s", "S", "ours: answers slower than S wait in proportion",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.congestion_latency_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.congestion_latency_s); }},
      {"--congestion-factor", "F", "ours: that wait, F x the excess latency on average",
       [](CliOptions& o, const Arg& a) { o.scenario.ours.pacing.congestion_factor = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.ours.pacing.congestion_factor); }},
      {"--polling-s", "S", "dirac: the JobAgent's PollingTime",
       [](CliOptions& o, const Arg& a) { o.scenario.dirac.pacing.polling_s = number(a); },
       [](const Scenario& s) -> std::string { return shown(s.dirac.pacing.polling_s); }},
  };
}

std::vector<Flag> run_flags() {
  return {
      {"--stop-after-failed-matches", "N", "both: stop after N failed matches in a row",
       [](CliOptions& o, const Arg& a) {
         o.scenario.ours.loop.stop_after_failed_matches = small_integer(a);
         o.scenario.dirac.loop.stop_after_failed_matches = small_integer(a);
       },
       [](const Scenario& s) -> std::string {
         return shown(s.ours.loop.stop_after_failed_matches);
       }},
      {"--max-host-failures", "N", "both: stop after N host failures in a row",
       [](CliOptions& o, const Arg& a) {
         o.scenario.ours.loop.max_host_failures = small_integer(a);
         o.scenario.dirac.loop.max_host_failures = small_integer(a);
       },
       [](const Scenario& s) -> std::string { return shown(s.ours.loop.max_host_failures); }},
      {"--policy", "P", "ours, dirac or both",
       [](CliOptions& o, const Arg& a) { o.scenario.policies = policies(a); },
       [](const Scenario& s) -> std::string { return shown_policies(s); }},
      {"--json", "FILE", "write the report as JSON",
       [](CliOptions& o, const Arg& a) { o.json_path = std::string(a.text); }, nullptr},
      {"--png", "FILE", "write the plot as PNG",
       [](CliOptions& o, const Arg& a) { o.png_path = std::string(a.text); }, nullptr},
      {"--help", nullptr, "this text", [](CliOptions& o, const Arg&) { o.help = true; }, nullptr},
  };
}

const std::vector<Flag>& flags() {
  static const std::vector<Flag> all = [] {
    std::vector<Flag> v;
    for (auto group : {farm_flags(), matcher_flags(), pacing_flags(), run_flags()})
      v.insert(v.end(), group.begin(), group.end());
    return v;
  }();
  return all;
}

const Flag& find_flag(std::string_view name) {
  for (const auto& f : flags())
    if (name == f.name) return f;
  throw UsageError("unknown option " + std::string(name) + " (see --help)");
}

struct Given {
  const Flag* flag;
  Arg arg;
};

std::vector<Given> read_flags(const std::vector<std::string>& args) {
  std::vector<Given> given;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view word = args[i];
    if (word == "-h") word = "--help";
    auto eq = word.find('=');
    const Flag& f = find_flag(word.substr(0, eq));
    Arg a{f.name, {}};
    if (eq != std::string_view::npos) {
      if (!f.value) throw UsageError(std::string(f.name) + " takes no value");
      a.text = word.substr(eq + 1);
    } else if (f.value) {
      if (++i == args.size()) throw UsageError(std::string(f.name) + " needs a value: " + f.value);
      a.text = args[i];
    }
    given.push_back({&f, a});
  }
  return given;
}

}  // namespace

CliOptions parse_cli(const std::vector<std::string>& args) {
  auto given = read_flags(args);
  CliOptions o;
  ScenarioKind kind = ScenarioKind::standard;
  for (const auto& g : given)
    if (g.arg.flag == "--scenario") kind = scenario_kind(g.arg);
  o.scenario = preset(kind);
  for (const auto& g : given) g.flag->set(o, g.arg);
  if (o.help) return o;
  try {
    validate(o.scenario);
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  return o;
}

std::string usage_text() {
  std::string out =
      "usage: pilot-farmsim [--scenario hlt|hlt-outage] [FLAG VALUE]...\n"
      "Simulates a farm's pilots starting at once against one DIRAC Matcher, for our request\n"
      "pacing (ours) and DIRAC's JobAgent (dirac), and reports how fast the farm fills and what\n"
      "the Matcher sees. Times in seconds of simulated time from the first pilot's start.\n\n";
  const Scenario presets[] = {preset(ScenarioKind::standard), preset(ScenarioKind::hlt),
                              preset(ScenarioKind::hlt_outage)};
  for (const auto& f : flags()) {
    std::string left = std::string("  ") + f.name + (f.value ? std::string(" ") + f.value : "");
    left.resize(std::max<std::size_t>(left.size() + 1, 32), ' ');
    std::string line = left + f.help;
    if (f.get && f.name != std::string_view("--scenario")) {
      // Each preset's value where it differs from the one before it.
      line += " (default " + f.get(presets[0]);
      for (std::size_t i = 1; i < std::size(presets); ++i)
        if (f.get(presets[i]) != f.get(presets[i - 1]))
          line += std::string("; ") + scenario_name(presets[i].kind) + ": " + f.get(presets[i]);
      line += ")";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace pilot::farmsim
