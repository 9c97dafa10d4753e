// How long to wait before a retry. Pure; thread-safe.
//
// Exponential: backoff before the first retry, doubled for each later one. A Retry-After from
// the hub is a floor (the hub said when it expects to have caught up). Every wait is capped at
// max_backoff, so a Retry-After of an hour cannot stall a backend's request thread.
#pragma once

#include <chrono>
#include <optional>

namespace nudge::detail {

struct Backoff {
    std::chrono::milliseconds first{100};
    std::chrono::milliseconds max{5000};
};

// `retry` counts from 1 (the wait before the second attempt).
[[nodiscard]] std::chrono::milliseconds retry_delay(
    const Backoff& backoff, unsigned retry, std::optional<std::chrono::milliseconds> retry_after);

}  // namespace nudge::detail
