// ServerContext: the read-only-after-start state every worker shares, plus the shutdown flag.
// Built once by app/; lives as long as the Server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>

#include "api/router.hpp"
#include "hub/hub.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

struct Limits {
    std::size_t max_send_queue_bytes = std::size_t{1024} * 1024;  // per client; past it: slow consumer
    std::size_t max_header_bytes = std::size_t{16} * 1024;
    std::chrono::seconds http_idle_timeout{30};      // keep-alive / handshake deadline
    std::size_t max_pending_batches = 65536;         // publish batches queued to workers (503 past it)
};

struct ServerContext {
    session::Context session;
    Limits limits;
    const api::Router* router = nullptr;
    hub::Hub* hub = nullptr;
    std::atomic<bool> shutting_down{false};
};

}  // namespace nudge::net
