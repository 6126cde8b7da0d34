#pragma once
// The figure of a run, drawn by the simulator itself: on top the busy slots (% of slots) over
// time for each policy; below the requests offered to and served by the Matcher per second,
// with its capacity dashed; the outage shaded; axes with tick labels, legends and a title.
// Rates above four times the capacity are clipped (the axis says so). Nothing here throws
// (beyond std::bad_alloc).

#include <vector>

#include "farmsim/image.hpp"
#include "farmsim/scenario.hpp"
#include "farmsim/summary.hpp"

namespace pilot::farmsim {

Image plot(const Scenario& s, const std::vector<PolicyRun>& runs, int width = 1000,
           int height = 600);

}  // namespace pilot::farmsim
