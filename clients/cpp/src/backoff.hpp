// How long to wait before a retry. Pure; thread-safe.
//
// Exponential: the hub's Retry-After (or, without one, `first`) before the first retry, doubled
// for each later one, capped at `max`, then multiplied by `jitter` (the emitter passes a random
// factor in [0.8, 1.2] so that many emitters do not retry in lockstep). A Retry-After is also a
// floor (the hub said when it expects to be back), itself capped at `max`, so a Retry-After of
// an hour cannot stall a backend's request thread.
#pragma once

#include <chrono>
#include <optional>

namespace nudge::detail {

struct Backoff {
    std::chrono::milliseconds first{500};
    std::chrono::milliseconds max{8000};
};

// `retry` counts from 1 (the wait before the second attempt).
[[nodiscard]] std::chrono::milliseconds retry_delay(
    const Backoff& backoff, unsigned retry, std::optional<std::chrono::milliseconds> retry_after,
    double jitter = 1.0);

}  // namespace nudge::detail
