// ServerContext: the read-only-after-start state every worker shares, plus the shutdown flag
// and the process-wide budgets. Built once by app/; lives as long as the Server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

#include "api/router.hpp"
#include "broker/broker.hpp"
#include "hub/hub.hpp"
#include "net/admission.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

struct Limits {
    // Per client, in bytes of memory (payload plus a fixed cost per queued frame). Above the
    // high watermark the hub stops reading from the client until it is back under the low
    // one; past the hard limit the client is closed as a slow consumer.
    std::size_t max_send_queue_bytes = std::size_t{1024} * 1024;
    std::size_t send_queue_high_watermark = std::size_t{256} * 1024;  // config: max/4 unless set
    std::size_t send_queue_low_watermark = std::size_t{64} * 1024;    // config: high/4 unless set
    // A client above the high watermark this long is dropped as a slow consumer.
    std::chrono::milliseconds slow_consumer_timeout{10000};
    // Largest message before the client has authenticated (then --max-payload applies).
    std::size_t max_unauthenticated_message = std::size_t{16} * 1024;
    // All clients' partially received messages together; past it the newest grower is closed.
    std::size_t max_partial_bytes = std::size_t{64} * 1024 * 1024;
    // A closing client has this long to take its close frame before TCP is cut.
    std::chrono::milliseconds close_timeout{5000};
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    std::chrono::seconds http_idle_timeout{30};      // keep-alive / handshake deadline
    std::size_t max_pending_batches = 65536;         // publish batches queued to workers (503 past it)
    AdmissionConfig admission;
};

struct ServerContext {
    session::Context session;
    Limits limits;
    const api::Router* router = nullptr;
    hub::Hub* hub = nullptr;
    // Positions and history for connection-state recovery; without one (unit tests), a
    // CONNECT is answered without a pid.
    broker::Broker* broker = nullptr;
    Admission admission;
    std::atomic<std::size_t> partial_bytes{0};  // see Limits::max_partial_bytes
    std::atomic<bool> shutting_down{false};
};

}  // namespace nudge::net
