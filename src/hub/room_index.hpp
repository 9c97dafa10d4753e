// RoomIndex: room name → subscribers, for one shard (one worker thread). Not thread-safe by
// design: each worker owns its shard and other threads reach it only by posting work.
//
// A room is a vector of raw subscriber pointers, so iteration (the fan-out hot path) is a
// linear scan of contiguous memory. Each subscriber records, per room, its slot in that
// vector (Subscriber's Memberships): leave is a swap-remove that fixes the moved member's
// slot, O(1) whatever the room's size; join checks the subscriber's own few memberships for
// a duplicate, never the room. Empty rooms are erased so their memory goes with their last
// member.
//
// Presence: may_have() tells any thread, without locking, whether this shard might have a
// room — a counting filter over hashed room names, written only by the owning thread. The
// hub uses it to post a targeted emit only to the shards that can have recipients, instead of
// waking every worker for every per-user event.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/bounded_map.hpp"
#include "hub/subscriber.hpp"

namespace nudge::hub {

struct Room {
    std::vector<Subscriber*> members;
    const std::string* name;  // the key of this room's node in the index (stable)
};

class RoomIndex {
public:
    RoomIndex() = default;
    RoomIndex(const RoomIndex&) = delete;
    RoomIndex& operator=(const RoomIndex&) = delete;
    ~RoomIndex() = default;

    // Joining a room twice is a no-op. O(rooms of the subscriber).
    void join(std::string_view room, Subscriber* subscriber);
    // O(rooms of the subscriber), independent of the room's size.
    void leave(std::string_view room, Subscriber* subscriber);
    // Leaves every room; must be called before a member is destroyed.
    void leave_all(Subscriber* subscriber);
    // `to` joins every room `from` is in, then `from` leaves them all (a session moving from
    // one transport to another keeps its rooms).
    void transfer(Subscriber* from, Subscriber* to);
    // Number of rooms `subscriber` is in.
    [[nodiscard]] static std::size_t rooms_of(const Subscriber& subscriber) noexcept {
        return subscriber.memberships_.size();
    }

    // Calls fn(Subscriber&) once for every subscriber in any of `rooms` and in none of
    // `except`, even when it is in several of the rooms. Returns the number of calls.
    // fn must not join or leave rooms.
    template <class Fn>
    std::size_t for_each_recipient(std::span<const std::string> rooms,
                                   std::span<const std::string> except, Fn&& fn);

    [[nodiscard]] std::size_t room_count() const noexcept { return rooms_.size(); }
    // Thread-safe. False means no member of `room` is on this shard; true means there may be
    // (another room can share the bucket). A join that happened before the call is seen.
    [[nodiscard]] bool may_have(std::string_view room) const noexcept {
        return presence_[bucket(room)].load(std::memory_order_acquire) != 0;
    }
    [[nodiscard]] std::size_t member_count(std::string_view room) const;
    // Member counting for --refetch-rate (off by default: it costs 256 KiB per shard and one
    // atomic add per join and leave). Call before the workers start.
    void count_members() {
        members_ = std::make_unique<std::atomic<std::uint32_t>[]>(kPresenceBuckets);
    }
    // Thread-safe, lock-free: the members of every room that shares `room`'s hash bucket on
    // this shard (at least the room's own members; more only when another room hashes to the
    // same bucket, so a derived spread window errs on the wide, origin-safe side). 0 when
    // counting is off. Sees joins and leaves shortly after they happen (relaxed).
    [[nodiscard]] std::uint32_t approximate_members(std::string_view room) const noexcept {
        return members_ ? members_[bucket(room)].load(std::memory_order_relaxed) : 0;
    }
    // Called on the owning thread when a room gets its first member here (true) and when its
    // last member leaves (false): a Redis broker subscribes to the rooms of its node's clients.
    using PresenceListener = std::function<void(std::string_view room, bool present)>;
    void set_presence_listener(PresenceListener listener) { on_presence_ = std::move(listener); }
    // Called on the owning thread for every join (true) and leave (false) of a subscriber that
    // recovers (Subscriber::recovers): the embedded broker records only those rooms' events.
    using RecoveringListener = std::function<void(std::string_view room, bool joined)>;
    void set_recovering_listener(RecoveringListener listener) { on_recovering_ = std::move(listener); }

private:
    using Hash = TransparentHash;
    using Members = std::vector<Subscriber*>;

    const Members* find(std::string_view room) const;
    // Removes membership i of `subscriber` from its room (erasing the room when it empties).
    void remove_membership(Subscriber* subscriber, std::size_t i);
    static constexpr std::size_t kPresenceBuckets = std::size_t{1} << 16;  // 256 KiB per shard
    static std::size_t bucket(std::string_view room) noexcept {
        return Hash{}(room) & (kPresenceBuckets - 1);
    }

    std::unordered_map<std::string, Room, Hash, std::equal_to<>> rooms_;
    // Rooms of this shard per hash bucket; written by the owning thread only.
    std::unique_ptr<std::atomic<std::uint32_t>[]> presence_ =
        std::make_unique<std::atomic<std::uint32_t>[]>(kPresenceBuckets);
    // Members per hash bucket (count_members()); written by the owning thread only.
    std::unique_ptr<std::atomic<std::uint32_t>[]> members_;
    std::uint64_t epoch_ = 0;  // bumped per delivery; compared with Subscriber::delivery_mark
    PresenceListener on_presence_;
    RecoveringListener on_recovering_;
};

template <class Fn>
std::size_t RoomIndex::for_each_recipient(std::span<const std::string> rooms,
                                          std::span<const std::string> except, Fn&& fn) {
    // Fast path: the common emit targets exactly one room with no exclusions; members of one
    // room are distinct, so no marking is needed.
    if (rooms.size() == 1 && except.empty()) {
        const Members* members = find(rooms.front());
        if (members == nullptr) return 0;
        for (Subscriber* s : *members) fn(*s);
        return members->size();
    }
    const std::uint64_t mark = ++epoch_;
    for (const auto& room : except) {
        if (const Members* members = find(room)) {
            for (Subscriber* s : *members) s->delivery_mark = mark;
        }
    }
    std::size_t delivered = 0;
    for (const auto& room : rooms) {
        const Members* members = find(room);
        if (members == nullptr) continue;
        for (Subscriber* s : *members) {
            if (s->delivery_mark == mark) continue;
            s->delivery_mark = mark;
            fn(*s);
            ++delivered;
        }
    }
    return delivered;
}

}  // namespace nudge::hub
