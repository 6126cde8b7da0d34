#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <thread>

#include "mjf/local_files.hpp"
#include "mjf/watcher.hpp"
#include "mjf_test_support.hpp"

using namespace std::chrono_literals;
using namespace pilot::mjf;

namespace {

constexpr std::int64_t kNow = 1700001000;

struct Slot {
  pilot::TempDir tmp{"mjf-watch"};
  ObserveSettings settings() const {
    ObserveSettings s;
    s.sources.machine = parse_location((tmp.path() / "machine").string());
    s.sources.job = parse_location((tmp.path() / "job").string());
    s.root = tmp.path() / "root";
    return s;
  }
  void set(const std::string& rel, const std::string& value) {
    mjf_test::put_file(tmp.path() / rel, value);
  }
  void remove(const std::string& rel) { std::filesystem::remove(tmp.path() / rel); }
};

std::vector<ChangeKind> kinds(const std::vector<Change>& changes) {
  std::vector<ChangeKind> out;
  for (const auto& c : changes) out.push_back(c.kind);
  return out;
}

}  // namespace

TEST_CASE("the shutdown file and the drain file are read under the root") {
  pilot::TempDir root("mjf-root");
  std::optional<std::int64_t> t;
  refresh_shutdown_file(t, root.path(), {});
  CHECK_FALSE(t);
  CHECK_FALSE(drain_file_exists(drain_file_path(root.path())));
  mjf_test::put_file(shutdown_file_path(root.path()), " 1700002000\n");
  mjf_test::put_file(drain_file_path(root.path()), "");
  refresh_shutdown_file(t, root.path(), {});
  CHECK(t == 1700002000);
  CHECK(drain_file_exists(drain_file_path(root.path())));
  CHECK(shutdown_file_path(root.path()) == root.path() / "var/run/shutdown_time");
  CHECK(drain_file_path(root.path()) == root.path() / "var/lib/dirac_drain");
  mjf_test::put_file(shutdown_file_path(root.path()), "1700002000.5");  // unusable: keep last good
  refresh_shutdown_file(t, root.path(), {});
  CHECK(t == 1700002000);
  mjf_test::put_file(shutdown_file_path(root.path()), "");  // withdrawn
  refresh_shutdown_file(t, root.path(), {});
  CHECK_FALSE(t);
}

TEST_CASE("the watcher reports shutdowns announced, moved and withdrawn, and the drain file") {
  Slot slot;
  slot.set("machine/total_cpu", "8");
  slot.set("job/jobstart_secs", "1700000000");
  slot.set("job/wall_limit_secs", "86400");
  Watcher w(slot.settings(), {}, {}, [] { return kNow; });
  CHECK(w.budget().wall_seconds_left == 85400);
  CHECK(w.poll().empty());

  slot.set("job/shutdowntime_job", "1700005000");
  auto c = w.poll();
  REQUIRE(c.size() == 1);
  CHECK(c[0].kind == ChangeKind::shutdown_announced);
  CHECK(c[0].source == Limit::shutdowntime_job);
  CHECK(c[0].after == 1700005000);
  CHECK(w.budget().wall_seconds_left == 4000);
  CHECK(w.budget().shutdowns_announced == std::vector{Limit::shutdowntime_job});
  CHECK_FALSE(w.budget().draining);

  slot.set("job/shutdowntime_job", "1700004000");
  slot.set("machine/shutdowntime", "1700003000");
  c = w.poll();
  CHECK(kinds(c) ==
        std::vector{ChangeKind::shutdown_moved_earlier, ChangeKind::shutdown_announced});
  CHECK(c[0].before == 1700005000);
  CHECK(c[0].after == 1700004000);
  CHECK(w.budget().wall_seconds_left == 2000);
  CHECK(w.budget().limited_by == std::vector{Limit::shutdowntime});

  slot.set("machine/shutdowntime", "not a time");  // a failed re-read changes nothing
  CHECK(w.poll().empty());

  slot.set("machine/shutdowntime", "1700009000");
  slot.remove("job/shutdowntime_job");
  slot.set("root/var/lib/dirac_drain", "");
  slot.set("root/var/run/shutdown_time", "1700008000");
  c = w.poll();
  CHECK(kinds(c) == std::vector{ChangeKind::shutdown_withdrawn, ChangeKind::shutdown_moved_later,
                                ChangeKind::shutdown_announced, ChangeKind::drain_requested});
  CHECK(c[2].source == Limit::shutdown_file);
  CHECK(w.budget().limited_by == std::vector{Limit::shutdown_file});

  slot.remove("root/var/lib/dirac_drain");
  CHECK(kinds(w.poll()) == std::vector{ChangeKind::drain_lifted});
}

TEST_CASE("the watcher re-asks the batch system and reports a limit extended or reduced") {
  Slot slot;
  slot.set("end", "1700002000");
  auto squeue = slot.tmp.path() / "bin/squeue";
  // The real squeue prints time left; this one reads the end time an "admin" writes.
  slot.set("bin/squeue", "#!/bin/sh\nend=$(cat " + (slot.tmp.path() / "end").string() +
                             ")\nleft=$((end - " + std::to_string(kNow) +
                             "))\necho \"$((left / 60)):$((left % 60))\"\n");
  ::chmod(squeue.c_str(), 0755);
  auto s = slot.settings();
  s.env = {{"SLURM_JOB_ID", "42"}, {"PATH", (slot.tmp.path() / "bin").string() + ":/usr/bin:/bin"}};
  Watcher w(s, {}, {}, [] { return kNow; });
  auto b = w.budget();
  CHECK(b.wall_seconds_left == 1000);
  CHECK(b.limited_by == std::vector{Limit::batch});

  slot.set("end", "1700003000");  // scontrol update TimeLimit=+...
  auto c = w.poll();
  REQUIRE(c.size() == 1);
  CHECK(c[0].kind == ChangeKind::limit_extended);
  CHECK(c[0].source == Limit::batch);
  CHECK(c[0].before == 1700002000);
  CHECK(c[0].after == 1700003000);

  slot.set("end", "1700001500");
  CHECK(kinds(w.poll()) == std::vector{ChangeKind::limit_reduced});

  // squeue failing now: the last good end time stays.
  slot.set("bin/squeue", "#!/bin/sh\nexit 1\n");
  ::chmod(squeue.c_str(), 0755);
  CHECK(w.poll().empty());
  CHECK(w.budget().wall_seconds_left == 500);
}

TEST_CASE("WatcherThread polls on its own thread and calls back with changes") {
  Slot slot;
  slot.set("machine/total_cpu", "8");
  Watcher w(slot.settings(), {}, {}, [] { return kNow; });
  std::mutex mu;
  std::vector<Change> seen;
  std::optional<std::int64_t> left;
  {
    WatcherThread t(w, 50ms, [&](const std::vector<Change>& c, const ResourceBudget& b) {
      std::lock_guard lock(mu);
      seen.insert(seen.end(), c.begin(), c.end());
      left = b.wall_seconds_left;
    });
    std::this_thread::sleep_for(120ms);
    slot.set("machine/shutdowntime", "1700001600");
    for (int i = 0; i < 100; ++i) {
      {
        std::lock_guard lock(mu);
        if (!seen.empty()) break;
      }
      std::this_thread::sleep_for(20ms);
    }
  }  // joins the thread
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].kind == ChangeKind::shutdown_announced);
  CHECK(left == 600);
}

TEST_CASE("change names for logs") {
  CHECK(change_name(ChangeKind::shutdown_moved_earlier) == "shutdown_moved_earlier");
  CHECK(change_name(ChangeKind::limit_extended) == "limit_extended");
  CHECK(limit_name(Limit::shutdown_file) == "shutdown_file");
}

TEST_CASE("a drain file moved elsewhere is the one watched, not the default place") {
  pilot::TempDir root("mjf-root");
  mjf_test::put_file(drain_file_path(root.path()), "");  // the default place, not the site's choice
  ObserveSettings s;
  s.root = root.path();
  s.drain_file = root.path() / "site" / "drain";
  auto obs = observe(s, {}, kNow);
  CHECK_FALSE(obs.drain_file);
  mjf_test::put_file(s.drain_file, "");
  reobserve(obs, s, {}, kNow);
  CHECK(obs.drain_file);
  s.drain_file.clear();  // unset: the default place
  std::filesystem::remove(root.path() / "site" / "drain");
  CHECK(observe(s, {}, kNow).drain_file);
}
