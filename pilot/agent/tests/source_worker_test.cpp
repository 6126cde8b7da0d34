// The agent's calls to the job source, on its worker thread: reports made one after another
// reach the source together, in order, and never overtake a call posted between them.
#include "source_worker.hpp"

#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

namespace {

using pilot::jobs::JobReport;

// Records what reaches it, one line per call ("report <id> S:<status> P:<name> ...").
class RecordingSource : public pilot::jobs::JobSource {
 public:
  std::vector<std::string> calls;
  std::string describe() const override { return "recording"; }
  std::optional<pilot::jobs::MatchedJob> request_job(const pilot::jobs::ResourceRequest&) override {
    return std::nullopt;
  }
  pilot::jobs::PreparedJob prepare_job(const pilot::jobs::MatchedJob&,
                                       const pilot::jobs::JobDescription&,
                                       const std::filesystem::path&) override {
    return {};
  }
  void maintain_job(const std::string&) override {}
  void set_status(const std::string& id, const pilot::jobs::StatusUpdate& u) override {
    if (u.status == "Refused") throw pilot::Error("refused");
    calls.push_back("status " + id + " " + u.status);
  }
  void set_parameters(const std::string& id,
                      const std::vector<std::pair<std::string, std::string>>& p) override {
    calls.push_back("parameters " + id + " " + p.at(0).first);
  }
  std::vector<pilot::jobs::Command> heartbeat(const std::string&, const nlohmann::json&) override {
    return {};
  }
  void finish_job(const std::string& id, const pilot::jobs::FinishedJob&) override {
    calls.push_back("finish " + id);
  }
  bool flush() override { return true; }
};

// Also delivers them in one call each, as the local queue does.
class BatchingSource : public RecordingSource {
 public:
  void report(const std::string& id, const std::vector<JobReport>& reports) override {
    std::string line = "report " + id;
    for (const auto& r : reports)
      line += r.status ? " S:" + r.status->status : " P:" + r.parameters.at(0).first;
    calls.push_back(line);
  }
};

pilot::jobs::StatusUpdate status(const std::string& s) {
  pilot::jobs::StatusUpdate u;
  u.status = s;
  return u;
}

// A worker held until release(), so that what is posted meanwhile queues behind the hold; then
// waited for until it ran everything.
template <class Source>
struct HeldWorker {
  Source source;
  pilot::agent::SourceWorker worker{source, pilot::log::Logger()};
  std::promise<void> open;
  HeldWorker() {
    worker.post([f = open.get_future().share()] { f.wait(); });
  }
  const std::vector<std::string>& release() {
    open.set_value();
    worker.call([] { return 0; });
    return source.calls;
  }
};

}  // namespace

TEST_CASE("source worker: consecutive reports go together, in order, behind earlier calls") {
  HeldWorker<BatchingSource> h;
  h.worker.status("1", status("Matched"));
  h.worker.parameters("1", {{"PilotAgent", "x"}});
  h.worker.status("2", status("Running"));
  h.worker.status("1", status("Running"));
  // A call posted between reports keeps its place: the reports after it come after it.
  h.worker.post([&calls = h.source.calls] { calls.push_back("between"); });
  h.worker.status("1", status("Done"));
  CHECK(h.release() == std::vector<std::string>{"report 1 S:Matched P:PilotAgent",
                                                "report 2 S:Running", "report 1 S:Running",
                                                "between", "report 1 S:Done"});
}

TEST_CASE("source worker: a source without its own batching gets every report, one failing") {
  HeldWorker<RecordingSource> h;
  h.worker.status("7", status("Running"));
  h.worker.status("7", status("Refused"));
  h.worker.parameters("7", {{"CPUNormalizationFactor", "10"}});
  CHECK(h.release() ==
        std::vector<std::string>{"status 7 Running", "parameters 7 CPUNormalizationFactor"});
}

TEST_CASE("source worker: a job's final parameters go with its last statuses, before its filing") {
  HeldWorker<BatchingSource> h;
  h.worker.status("3", status("Completing"));
  h.worker.final_report("3", {{"TotalCPUTime(s)", "1.0"}},
                        pilot::jobs::FinishedJob{"/nonexistent/job_3", nlohmann::json::object()});
  CHECK(h.release() ==
        std::vector<std::string>{"report 3 S:Completing P:TotalCPUTime(s)", "finish 3"});
}
