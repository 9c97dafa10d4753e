// AuthFailures: what the publish API does about wrong API keys, per source address.
//
// - Logging is rate-limited: at most one warning per source per log_interval, carrying the
//   number of failures it stood for, so a client retrying a wrong key in a loop cannot flood
//   the log (nor hide other lines in it).
// - Optional backoff (off unless backoff_failures > 0): after backoff_failures wrong keys from
//   one source within backoff_window, that source is answered 429 with Retry-After for
//   backoff_window, whatever key it sends, which makes guessing the key by brute force slow.
//
// Memory is bounded (common/bounded_map.hpp): at most kMaxSources sources are tracked; a source
// is forgotten once idle for longer than every interval (a block never outlives that), and when
// the table is full the source idle the longest is forgotten (its counts restart, which only
// makes the hub more lenient towards it).
//
// Thread-safe, with one mutex. With the backoff off (the default) only requests with a wrong
// key take it; with the backoff on, every publish takes it for one hash lookup.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "common/bounded_map.hpp"

namespace nudge::api {

struct AuthFailureConfig {
    std::uint32_t backoff_failures = 0;          // 0: no backoff
    std::chrono::seconds backoff_window{60};     // counting window, and how long a block lasts
    std::chrono::seconds log_interval{10};       // at most one log line per source per interval
};

class AuthFailures {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kMaxSources = 4096;

    explicit AuthFailures(AuthFailureConfig config);

    // When `source` is blocked by the backoff: the seconds left (at least 1), for Retry-After.
    [[nodiscard]] std::optional<std::chrono::seconds> blocked(std::string_view source,
                                                             Clock::time_point now);

    struct Outcome {
        bool log = false;              // write a warning now
        std::uint64_t failures = 0;    // failures since the last warning for this source (incl. this)
        bool now_blocked = false;      // this failure started a backoff
    };
    // Records one wrong key from `source`.
    Outcome record(std::string_view source, Clock::time_point now);

    [[nodiscard]] std::size_t tracked() const;

private:
    struct Entry {
        Clock::time_point window_start;
        Clock::time_point blocked_until;
        Clock::time_point last_log;
        std::uint32_t window_failures = 0;
        std::uint64_t unlogged = 0;
        bool logged_once = false;
    };
    AuthFailureConfig config_;
    mutable std::mutex mutex_;
    BoundedMap<std::string, Entry> sources_;  // renewed at each failure; idle ones expire
};

}  // namespace nudge::api
