// IdempotencyCache: publisher-chosen event ids seen within a window, so a retried publish is
// accepted but not delivered twice. Bounded: past `max_entries` the oldest ids are forgotten
// early (counted by the caller: a retry of a forgotten id would be delivered again). Not
// thread-safe: LocalBroker calls it under its lock.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/saved_state.hpp"
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

    // The ids still inside their window, oldest first, with what is left of it.
    void save(Clock::time_point now, SavedState& state) const {
        ids_.for_each(now, [&](const std::string& id, std::uint64_t seq, Clock::time_point until) {
            state.ids.push_back(SavedId{id, seq, std::chrono::ceil<std::chrono::milliseconds>(until - now)});
        });
    }
    // Ids saved by save() (aged since), each remembered for what was left of its window.
    void restore(const SavedState& state, Clock::time_point now) {
        for (const auto& id : state.ids) {
            const auto remaining = std::min<Clock::duration>(id.remaining, ids_.ttl());
            (void)ids_.insert(id.id, id.seq, now - (ids_.ttl() - remaining));
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return ids_.size(); }

private:
    BoundedMap<std::string, std::uint64_t> ids_;  // oldest forgotten first when full
};

}  // namespace nudge::broker
