// IdempotencyCache: publisher-chosen event ids seen within a window, so a retried publish is
// accepted but not delivered twice. Bounded: past `max_entries` the oldest ids are forgotten
// early (counted by the caller: a retry of a forgotten id would be delivered again). Not
// thread-safe: LocalBroker calls it under its lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace nudge::broker {

class IdempotencyCache {
public:
    using Clock = std::chrono::steady_clock;

    IdempotencyCache(std::chrono::milliseconds window, std::size_t max_entries)
        : window_(window), max_entries_(max_entries) {}

    // The sequence the id was published with, when it was seen within the window.
    [[nodiscard]] std::optional<std::uint64_t> find(std::string_view id, Clock::time_point now) const;
    // Remembers `id` (not currently remembered within the window). Returns how many ids were
    // forgotten before their window ended to make room.
    std::size_t insert(std::string_view id, std::uint64_t seq, Clock::time_point now);
    void expire(Clock::time_point now);

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct Entry {
        std::uint64_t seq;
        Clock::time_point at;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    struct Record {
        const std::string* id;  // key of entries_ (node keys are stable)
        Clock::time_point at;
    };
    void pop_oldest();

    std::chrono::milliseconds window_;
    std::size_t max_entries_;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
    std::deque<Record> order_;  // insertion order; a record is stale when its entry was renewed
};

}  // namespace nudge::broker
