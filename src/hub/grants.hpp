// Grants: rooms the backend added through the API (RoomOpKind::kJoin), remembered for a TTL so
// that a socket which reconnects gets them back (--granted-rooms-ttl).
//
// Membership added by the API lives in the room index of the sockets that were connected at
// the time; a socket that reconnects (a network blip, a new tab) starts from its token's
// rooms. With a TTL, the hub records "sockets in room R were granted room T until t" and, when
// a socket connects, joins it to every unexpired grant of the rooms its token gave it (its
// user room `user_<id>` above all). A leave for (R, T) or a disconnect of R drops the grants.
//
// Bounded: at most `max_entries` (selector, room) pairs; past that, expired entries are
// purged and, if still full, the new grant is not remembered (the join itself still happens)
// and add() says so. Thread-safe (one mutex): taken by API calls and by each CONNECT, only
// when the TTL is on.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace nudge::hub {

class Grants {
public:
    using Clock = std::chrono::steady_clock;

    Grants(std::chrono::seconds ttl, std::size_t max_entries)
        : ttl_(ttl), max_entries_(max_entries) {}

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
    // selectors themselves.
    [[nodiscard]] std::vector<std::string> rooms_for(std::span<const std::string> selectors,
                                                     Clock::time_point now) const;
    [[nodiscard]] std::size_t size() const;

private:
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    using Rooms = std::unordered_map<std::string, Clock::time_point, Hash, std::equal_to<>>;

    void purge_expired(Clock::time_point now);

    std::chrono::seconds ttl_;
    std::size_t max_entries_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, Rooms, Hash, std::equal_to<>> by_selector_;
    std::size_t entries_ = 0;
};

}  // namespace nudge::hub
