#include "backoff.hpp"

#include <algorithm>

namespace nudge::detail {

std::chrono::milliseconds retry_delay(const Backoff& backoff, unsigned retry,
                                      std::optional<std::chrono::milliseconds> retry_after,
                                      double jitter) {
    using std::chrono::milliseconds;
    // A Retry-After of 0 starts from `first`: doubling zero would retry in a busy loop.
    const milliseconds start =
        retry_after && *retry_after > milliseconds::zero() ? *retry_after : backoff.first;
    milliseconds delay = std::clamp(start, milliseconds::zero(), backoff.max);
    // Doubling stops at the cap, so a large retry count cannot overflow.
    for (unsigned i = 1; i < retry && delay < backoff.max; ++i) {
        delay = std::min(delay * 2, backoff.max);
    }
    delay = std::chrono::round<milliseconds>(
        std::chrono::duration<double, std::milli>(static_cast<double>(delay.count()) * jitter));
    if (retry_after) delay = std::max(delay, std::min(*retry_after, backoff.max));
    return std::max(delay, milliseconds::zero());
}

}  // namespace nudge::detail
