// Subscriber: what the room index knows of a client — a handle it can deliver packets to.
//
// Rooms hold raw pointers to subscribers, never owners, and each subscriber holds its own
// memberships (which rooms, at which slot), so join, leave and leave-all are O(1) per room
// (uWebSockets' TopicTree has the same two-way link). The owner must call
// RoomIndex::leave_all() before the subscriber is destroyed. Single-threaded: a subscriber
// lives on one worker and is only touched by that worker's shard.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace nudge::hub {

// One Engine.IO packet as text (`42["event",data]`: a Socket.IO EVENT in an Engine.IO
// message), immutable and shared by every recipient on one shard. Not framed: each transport
// frames it as it writes (a WebSocket header in front, a 0x1E between long-polling packets).
using Packet = std::shared_ptr<const std::string>;

// Which wire form of an event a session takes (hub/encoded_emit.hpp): plain, with the recovery
// offset, or with nudge's metadata argument and the offset. Chosen at the session's CONNECT.
enum class Variant : std::uint8_t { kPlain, kOffset, kNudge, kCount };

struct Room;

// One room a subscriber is in, and where it sits in that room's member list.
struct Membership {
    Room* room;
    std::uint32_t slot;
};

// The memberships of one subscriber. Two inline (a user room and one shared room is the
// common case), more on the heap: an idle client pays no allocation for its rooms.
class Memberships {
public:
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] Membership& operator[](std::size_t i) noexcept {
        return i < kInline ? inline_[i] : (*more_)[i - kInline];
    }
    void push_back(Membership m);
    // Removes element i by moving the last one into its place.
    void swap_remove(std::size_t i) noexcept;
    // Index of the membership for `room`, or size() when there is none.
    [[nodiscard]] std::size_t find(const Room* room) noexcept;

private:
    static constexpr std::size_t kInline = 2;
    std::array<Membership, kInline> inline_{};
    std::unique_ptr<std::vector<Membership>> more_;
    std::uint32_t size_ = 0;
};

class Subscriber {
public:
    // Queues the packet for sending. Must not leave rooms or destroy the subscriber
    // synchronously (the caller is iterating a room); a slow consumer schedules its close.
    virtual void deliver(const Packet& packet) = 0;
    // The server ends this client's session (the API's disconnect, Socket.IO's
    // disconnectSockets): a Socket.IO DISCONNECT, then a close. Not called inside a fan-out;
    // may leave rooms, must not destroy the subscriber synchronously.
    virtual void disconnect() = 0;

    Subscriber(const Subscriber&) = delete;
    Subscriber& operator=(const Subscriber&) = delete;

    // Scratch mark used by RoomIndex to deduplicate recipients across rooms.
    std::uint64_t delivery_mark = 0;
    // Emits with a lower sequence are not delivered: a recovered session already got them
    // from history (they may still be in flight to this worker when it reconnects).
    std::uint64_t deliver_from = 0;
    // The wire form of events for this session (its CONNECT auth and the hub's --recovery).
    Variant variant = Variant::kPlain;
    // The session can recover (it has a pid): the embedded broker records its rooms' events
    // (broker/history.hpp). Set before its first join, never changed while in a room.
    bool recovers = false;
    // deliver_from == kHold: the session waits for the broker's answer to its CONNECT (a
    // Redis broker answers later); live events are held with their positions meanwhile, and
    // the session sends those the answer does not cover after it.
    static constexpr std::uint64_t kHold = std::numeric_limits<std::uint64_t>::max();
    struct Held {
        std::uint64_t seq;
        Packet packet;
    };
    // Called inside a fan-out, as deliver() is: a connection charges the held packet to its
    // send budget (and schedules its close past it), then keeps it here.
    virtual void hold(std::uint64_t seq, Packet packet) {
        if (!held_) held_ = std::make_unique<HeldEvents>();
        held_->bytes += packet->size();
        held_->events.push_back(Held{seq, std::move(packet)});
    }
    // The held events, in arrival order; holding ends.
    [[nodiscard]] std::vector<Held> take_held() {
        std::vector<Held> out;
        if (held_) out = std::move(held_->events);
        held_.reset();
        return out;
    }
    // What is held: the packets' bytes and how many (kept with them, so an idle client pays
    // nothing for the count).
    [[nodiscard]] std::size_t held_bytes() const noexcept { return held_ ? held_->bytes : 0; }
    [[nodiscard]] std::size_t held_count() const noexcept {
        return held_ ? held_->events.size() : 0;
    }

protected:
    Subscriber() = default;
    virtual ~Subscriber() = default;

private:
    friend class RoomIndex;
    struct HeldEvents {
        std::vector<Held> events;
        std::size_t bytes = 0;  // of the packets
    };
    Memberships memberships_;
    std::unique_ptr<HeldEvents> held_;  // only while holding: an idle client pays 8 bytes
};

}  // namespace nudge::hub
