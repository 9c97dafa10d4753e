// IdempotencyCache: publisher-chosen event ids seen within a window, so a retried publish is
// accepted but not delivered twice. Bounded: past `max_entries` the oldest ids are forgotten
// early (counted by the caller: a retry of a forgotten id would be delivered again). Not
// thread-safe: LocalBroker calls it under its lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bounded_map.hpp"
#include "metrics/metrics.hpp"

namespace nudge::broker {

class IdempotencyCache {
public:
    using Clock = std::chrono::steady_clock;

    IdempotencyCache(std::chrono::milliseconds window, std::size_t max_entries)
        : ids_(window, max_entries, WhenFull::kEvictOldest,
               [](Removal why, const std::string&, const std::uint64_t&) {
                   metrics::registry().table_removed(metrics::Table::kIdempotency,
                                                     why == Removal::kEvicted);
               }) {}

    // The sequence the id was published with, when it was seen within the window.
    [[nodiscard]] std::optional<std::uint64_t> find(std::string_view id, Clock::time_point now) const {
        const std::uint64_t* seq = ids_.peek(id, now);
        return seq == nullptr ? std::nullopt : std::optional<std::uint64_t>(*seq);
    }
    // Remembers `id` (not currently remembered within the window). Returns how many ids were
    // forgotten before their window ended to make room.
    std::size_t insert(std::string_view id, std::uint64_t seq, Clock::time_point now) {
        ids_.expire(now);
        return ids_.insert(id, seq, now) == Inserted::kEvicted ? 1 : 0;
    }
    void expire(Clock::time_point now) { ids_.expire(now); }

    [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }

private:
    BoundedMap<std::string, std::uint64_t> ids_;  // oldest forgotten first when full
};

}  // namespace nudge::broker
