// Broker: where published events go between the publish API and the hub's fan-out.
//
// The local broker hands a batch straight to this process's hub. A Redis broker (a later
// issue) publishes the batch to Redis and delivers what it receives from Redis to the hub,
// so every node of a cluster fans out every event; per-room history for connection-state
// recovery also belongs at this seam. Membership operations from the API (apply) travel the
// same way: a join issued on one node must reach the sockets of every node. publish() is thread-safe and never blocks on clients.
#pragma once

#include "hub/emit.hpp"
#include "hub/room_op.hpp"

namespace nudge::broker {

enum class PublishResult {
    kAccepted,
    kOverloaded,  // not taken; the publisher should retry later (HTTP 503)
};

class Broker {
public:
    virtual ~Broker() = default;
    [[nodiscard]] virtual PublishResult publish(hub::SharedBatch batch) = 0;
    // Membership changes from the API (join, leave, disconnect the sockets in some rooms).
    // They must reach every hub of a cluster, like events; thread-safe, never blocks.
    [[nodiscard]] virtual PublishResult apply(hub::SharedRoomOp op) = 0;
};

}  // namespace nudge::broker
