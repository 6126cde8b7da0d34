// pilot-farmsim: runs the scenario for each policy asked, prints the parameters and the figures
// side by side, and writes the JSON report and the plot when asked. Exit 0 on success, 1 when a
// file cannot be written, 2 for a bad command line.

#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "farmsim/cli.hpp"
#include "farmsim/plot.hpp"
#include "farmsim/png.hpp"
#include "farmsim/report.hpp"
#include "farmsim/simulation.hpp"

namespace {

using namespace pilot::farmsim;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<PolicyRun> run_all(const Scenario& s) {
  std::vector<PolicyRun> runs;
  for (auto policy : s.policies) {
    auto start = std::chrono::steady_clock::now();
    runs.push_back({policy, simulate(s, policy)});
    std::printf("%s: simulated in %.2f s wall time\n", policy_name(policy), seconds_since(start));
  }
  return runs;
}

int run(const CliOptions& o) {
  std::cout << "parameters:\n" << parameters_text(o.scenario) << "\n";
  auto start = std::chrono::steady_clock::now();
  auto runs = run_all(o.scenario);
  std::printf("all policies: %.2f s wall time\n\n", seconds_since(start));
  std::cout << summary_table(o.scenario, runs);
  if (o.json_path) {
    write_json(*o.json_path, report_json(o.scenario, runs));
    std::cout << "report: " << *o.json_path << "\n";
  }
  if (o.png_path) {
    write_png(*o.png_path, plot(o.scenario, runs));
    std::cout << "plot: " << *o.png_path << "\n";
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CliOptions options;
  try {
    options = parse_cli(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "pilot-farmsim: " << e.what() << "\n";
    return 2;
  }
  if (options.help) {
    std::cout << usage_text();
    return 0;
  }
  try {
    return run(options);
  } catch (const std::exception& e) {
    std::cerr << "pilot-farmsim: " << e.what() << "\n";
    return 1;
  }
}
