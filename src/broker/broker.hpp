// Broker: where published events go between the publish API and the hub's fan-out, and where
// their history lives for connection-state recovery.
//
// The local broker hands a batch straight to this process's hub and keeps the history in
// memory. The Redis broker publishes the batch to Redis, delivers what it receives from Redis
// to the hub, and keeps the history in Redis Streams. Both number every emit with a position
// (common/position.hpp) and skip events whose id was already published (idempotency).
// Membership operations from the API (apply) travel the same way: a join issued on one node
// must reach the sockets of every node. publish(), apply() and recover() are thread-safe, never
// block on clients, and answer through a callback: inline (local) or later on the broker's own
// thread (Redis).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/position.hpp"
#include "hub/emit.hpp"
#include "hub/room_op.hpp"
#include "hub/subscriber.hpp"

namespace nudge::broker {

enum class PublishResult {
    kAccepted,
    kOverloaded,   // not taken: fan-out is behind; the publisher should retry later (HTTP 503)
    kUnavailable,  // not taken: the broker (Redis) is unreachable; retry later (HTTP 503)
};

struct Health {
    std::string_view kind;  // "local" or "redis"
    bool connected = true;
};

struct Published {
    std::uint64_t seq;  // the event's position (0 when the broker does not number events)
    bool duplicate;     // its id was published before: accepted, not delivered again
};

struct PublishOutcome {
    PublishResult result = PublishResult::kAccepted;
    std::string epoch;
    std::vector<Published> events;  // one per event of the batch, when accepted
};

struct RecoveryRequest {
    std::vector<std::string> rooms;  // every room of the (re)connecting session
    std::optional<Position> from;    // the client's position; none for a new session
    // Replay at most this many bytes (packets plus `per_packet_overhead` each); more is resynced,
    // so a replay never overruns the session's send queue.
    std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
    std::size_t per_packet_overhead = 0;
    // The session recovers (else the broker only confirms its rooms: no position, no replay)
    // and the form its replayed events take (hub::EncodedEmit).
    bool recovery = true;
    hub::Variant variant = hub::Variant::kOffset;
    // GET /api/v1/position: a page is rendered at this position, and its client resumes from it
    // (within the history window) in rooms no session that recovers may be in yet.
    bool for_rendered_page = false;
};

struct Recovery {
    // `from` was given and every event of the rooms after it is in `replay`: answer the
    // CONNECT with the client's own pid.
    bool recovered = false;
    Position now;                         // the position now: a new session's pid
    std::vector<std::string> lost_rooms;  // rooms whose missed events cannot be given back
    std::vector<hub::Packet> replay;      // missed events in order, each once
};

class Broker {
public:
    virtual ~Broker() = default;
    virtual void publish(hub::EmitBatch batch, std::function<void(PublishOutcome)> done) = 0;
    // What a session in `request.rooms` missed since `request.from`. The caller must have
    // joined the rooms first: every event after `now` then reaches the session live. `done`
    // may run inline (the local broker) or later on another thread (a broker that asks Redis).
    virtual void recover(RecoveryRequest request, std::function<void(Recovery)> done) = 0;
    // Membership changes from the API (join, leave, disconnect the sockets in some rooms).
    // They must reach every hub of a cluster, like events; thread-safe, never blocks.
    virtual void apply(hub::SharedRoomOp op, std::function<void(PublishResult)> done) = 0;
    [[nodiscard]] virtual Health health() const = 0;
};

}  // namespace nudge::broker
