// ServerContext: the read-only-after-start state every worker shares, plus the shutdown flag
// and the process-wide budgets. Built once by app/; lives as long as the Server.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "broker/broker.hpp"
#include "hub/hub.hpp"
#include "net/admission.hpp"
#include "net/subscribe_hook.hpp"
#include "net/polling_directory.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

struct Limits {
    // Per client, in bytes of memory (payload plus a fixed cost per queued packet). Above the
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
    // Rooms joined through the API are re-applied to sockets that connect within this long
    // (0: off); at most max_granted_rooms (selector, room) pairs are remembered.
    std::chrono::seconds granted_rooms_ttl{0};
    std::size_t max_granted_rooms = 1000000;
    std::size_t max_granted_rooms_per_room = 10000;  // per selector room
    // HTTP long-polling sessions open at once in the process (each also charged to admission).
    std::size_t max_polling_sessions = 100000;
    AdmissionConfig admission;
};

// Browser origins (RFC 6454 serializations, e.g. "https://app.example.com"). Empty: HTTP
// long-polling answers carry no CORS headers (same-origin pages and non-browser clients work)
// and WebSocket upgrades are accepted from any origin (authentication is in the CONNECT
// payload, not in cookies). Set: polling answers and preflights carry CORS headers for these
// origins only, and an Engine.IO request from any other Origin is refused (403, code 4).
struct Origins {
    std::vector<std::string> allowed;
    [[nodiscard]] bool listed(std::string_view origin) const {
        for (const auto& o : allowed) {
            if (o == origin) return true;
        }
        return false;
    }
};

class Worker;

struct ServerContext {
    session::Context session;
    Limits limits;
    const api::Router* router = nullptr;
    hub::Hub* hub = nullptr;
    // Positions and history for connection-state recovery; without one (unit tests), a
    // CONNECT is answered without a pid.
    broker::Broker* broker = nullptr;
    Admission admission;
    // --subscribe-hook: each worker asks it for nudge:subscribe without a token.
    SubscribeHookConfig subscribe_hook;
    std::optional<HookTarget> subscribe_hook_target;  // set (resolved) when the hook is on
    std::atomic<std::size_t> partial_bytes{0};  // see Limits::max_partial_bytes
    std::atomic<std::size_t> polling_sessions{0};  // see Limits::max_polling_sessions
    std::atomic<bool> shutting_down{false};
    Origins origins;
    PollingDirectory polling;
    std::vector<Worker*> workers;  // every worker, by index (set once by Server)
    // --dev: each connect and each refused token is logged at info (debug otherwise), so a
    // first run shows what the hub does with the tour's clients.
    bool log_sessions_at_info = false;
};

}  // namespace nudge::net
