#include "backoff.hpp"

#include <algorithm>

namespace nudge::detail {

std::chrono::milliseconds retry_delay(const Backoff& backoff, unsigned retry,
                                      std::optional<std::chrono::milliseconds> retry_after) {
    std::chrono::milliseconds delay = std::min(backoff.first, backoff.max);
    // Doubling stops at the cap, so a large retry count cannot overflow.
    for (unsigned i = 1; i < retry && delay < backoff.max; ++i) {
        delay = std::min(delay * 2, backoff.max);
    }
    if (retry_after) delay = std::max(delay, *retry_after);
    return std::clamp(delay, std::chrono::milliseconds::zero(), backoff.max);
}

}  // namespace nudge::detail
