// Connection: what a Worker knows of a client connection, whatever stream it runs over.
//
// Ownership (Envoy's DeferredDeletable): the worker's registry owns every connection
// (unique_ptr). Closing never frees: a closed connection is moved to the worker's graveyard
// and freed by the sweep once no asynchronous operation of it is pending, so no callback
// ever runs on a freed object and nothing needs shared_ptr reference rules.
//
// Fan-out staging: during a fan-out batch, a connection with nothing queued does not copy
// the event into a queue of its own; the worker records (packet index, next) links in a
// per-worker list and the connection remembers its first and last link. The connection's
// flush() writes straight from those packets and queues only what the kernel did not take.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include "hub/subscriber.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

class Connection : public hub::Subscriber {
public:
    static constexpr std::uint32_t kNoLink = std::numeric_limits<std::uint32_t>::max();

    Connection() = default;
    ~Connection() override = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Writes what is queued and staged (the worker calls it after a fan-out batch).
    virtual void flush() = 0;
    // The sweep: heartbeat, connect and close deadlines.
    virtual void tick(session::Protocol::Clock::time_point now) = 0;
    // Starts a graceful close from outside (server shutdown, a deferred slow-consumer close).
    virtual void close(session::CloseReason reason) = 0;
    // Closed and no asynchronous operation pending: the worker may free it.
    [[nodiscard]] virtual bool reapable() const noexcept = 0;

    std::uint32_t registry_index = 0;  // position in the worker's registry, O(1) removal
    // Staged packets of the current fan-out batch (see above); valid only inside a batch.
    std::uint32_t first_link = kNoLink;
    std::uint32_t last_link = kNoLink;
    std::uint32_t staged_bytes = 0;
    bool in_flush_list = false;
};

}  // namespace nudge::net
