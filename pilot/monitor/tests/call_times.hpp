#pragma once
// How long StompPublisher::publish() calls took, for the tests that it never waits for the
// broker. On a shared machine any call may be preempted for a few milliseconds, so the tests ask
// that almost all take under 1 ms and none come anywhere near the broker's time-outs (300 ms and
// more in these tests): a call that waited for the broker would.

#include <algorithm>
#include <chrono>

namespace pilot::test {

struct CallTimes {
  int calls = 0;
  int slow = 0;  // 1 ms or more
  std::chrono::nanoseconds slowest{0};
  void add(std::chrono::nanoseconds t) {
    ++calls;
    slow += t >= std::chrono::milliseconds(1) ? 1 : 0;
    slowest = std::max(slowest, t);
  }
  bool never_waited() const {
    return slow * 100 <= calls && slowest < std::chrono::milliseconds(50);
  }
};

}  // namespace pilot::test
