// LogLimiter: at most one log line per period for a repeated condition (accept failures,
// refused connections, slow consumers), with the number of lines it held back, so an attack
// or an outage cannot flood the log. Not thread-safe: one per worker and condition.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace nudge::net {

class LogLimiter {
public:
    using Clock = std::chrono::steady_clock;
    explicit LogLimiter(std::chrono::milliseconds period = std::chrono::seconds(10)) : period_(period) {}

    // When a line may be written now: the number of lines suppressed since the last one.
    // Otherwise nullopt (and this one is counted as suppressed).
    std::optional<std::uint64_t> allow(Clock::time_point now = Clock::now()) {
        if (now < next_) {
            ++suppressed_;
            return std::nullopt;
        }
        next_ = now + period_;
        const std::uint64_t held = suppressed_;
        suppressed_ = 0;
        return held;
    }

private:
    std::chrono::milliseconds period_;
    Clock::time_point next_{};
    std::uint64_t suppressed_ = 0;
};

}  // namespace nudge::net
