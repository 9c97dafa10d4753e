// The wall clock as Unix milliseconds: what crosses a process boundary (the state file's write
// time, the "t" a client's spread window starts at). Durations inside the process use
// steady_clock instead.
#pragma once

#include <chrono>
#include <cstdint>

namespace nudge {

[[nodiscard]] inline std::int64_t unix_now_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace nudge
