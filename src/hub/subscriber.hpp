// Subscriber: what the room index knows of a client — a handle it can deliver frames to.
// Rooms hold raw pointers to subscribers, never owners: the connection owns itself and must
// leave every room before it is destroyed (Connection::close does). Single-threaded: a
// subscriber lives on one worker and is only touched by that worker's shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace nudge::hub {

// A complete, immutable WebSocket frame shared by every recipient on one shard.
using Frame = std::shared_ptr<const std::string>;

class Subscriber {
public:
    // Queues the frame for sending. Must not leave rooms or destroy the subscriber
    // synchronously (the caller is iterating a room); a slow consumer schedules its close.
    virtual void deliver(const Frame& frame) = 0;

    // Scratch mark used by RoomIndex to deduplicate recipients across rooms.
    std::uint64_t delivery_mark = 0;

protected:
    Subscriber() = default;
    ~Subscriber() = default;
    Subscriber(const Subscriber&) = default;
    Subscriber& operator=(const Subscriber&) = default;
};

}  // namespace nudge::hub
