// Grants: rooms the backend added through the API (RoomOpKind::kJoin), remembered for a TTL so
// that a socket which reconnects gets them back (--granted-rooms-ttl).
//
// Membership added by the API lives in the room index of the sockets that were connected at
// the time; a socket that reconnects (a network blip, a new tab) starts from its token's
// rooms. With a TTL, the hub records "sockets in room R (the selector) were granted room T
// until t" and, when a socket connects, joins it to every unexpired grant of the rooms its
// token gave it (its user room `user_<id>` above all). A leave for (R, T) or a disconnect of R
// drops the grants.
//
// Bounded by construction (common/bounded_map.hpp): at most `max_entries` (selector, room)
// pairs in all and `max_per_selector` rooms per selector; past either bound, expired entries
// go first and then the new grant is not remembered (the join itself still happens) and add()
// says so. Each selector's rooms sit in expiry order, so expiring costs O(expired) and a
// CONNECT costs O(rooms granted to its selectors): the rooms are copied under the lock and
// de-duplicated (hash set, O(n)) after it is released.
//
// Thread-safe (one mutex): taken by API calls and by each CONNECT, only when the TTL is on.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/bounded_map.hpp"

namespace nudge::hub {

class Grants {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kDefaultMaxPerSelector = 10000;

    Grants(std::chrono::seconds ttl, std::size_t max_entries,
           std::size_t max_per_selector = kDefaultMaxPerSelector);
    Grants(const Grants&) = delete;
    Grants& operator=(const Grants&) = delete;

    [[nodiscard]] bool enabled() const noexcept { return ttl_.count() > 0; }

    // Remembers that sockets in each of `selectors` were granted `rooms`, until now + ttl (a
    // repeated grant extends it). False when some pair was not remembered (full).
    bool add(std::span<const std::string> selectors, std::span<const std::string> rooms,
             Clock::time_point now);
    // Forgets the grants of `rooms` to each of `selectors`.
    void remove(std::span<const std::string> selectors, std::span<const std::string> rooms);
    // Forgets every grant to each of `selectors` (logout everywhere).
    void clear(std::span<const std::string> selectors);
    // The unexpired rooms granted to any of `selectors`, each once, not including the
    // selectors themselves. O(rooms granted to the selectors).
    [[nodiscard]] std::vector<std::string> rooms_for(std::span<const std::string> selectors,
                                                     Clock::time_point now) const;
    [[nodiscard]] std::size_t size() const;
    // Entries visited by add() and rooms_for() since construction: the work they did, so a
    // test can assert it grows with the rooms involved and not with the table.
    [[nodiscard]] std::uint64_t visits() const noexcept { return visits_.load(std::memory_order_relaxed); }

private:
    struct Granted {};
    using Rooms = BoundedMap<std::string, Granted>;
    void on_room_removed() const noexcept { --entries_; }
    [[nodiscard]] Rooms make_rooms();

    std::chrono::seconds ttl_;
    std::size_t max_entries_;
    std::size_t max_per_selector_;
    mutable std::mutex mutex_;
    // Selector → its granted rooms. A selector's TTL is renewed with each grant to it, so it
    // expires with its newest room; expired rooms of a live selector go when it is next used.
    mutable BoundedMap<std::string, Rooms> by_selector_;
    mutable std::size_t entries_ = 0;  // pairs in all the selectors' tables
    mutable std::atomic<std::uint64_t> visits_{0};
};

}  // namespace nudge::hub
