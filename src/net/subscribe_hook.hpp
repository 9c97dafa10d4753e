// SubscribeHook: asks the backend whether a user may join a room (--subscribe-hook URL), for
// a client's nudge:subscribe without a subscription token.
//
// One per worker, on the worker's io_context: the HTTP call (Beast) is asynchronous, so a
// slow or dead backend never blocks the worker; every call has a deadline (--subscribe-hook-
// timeout) and at most max_pending calls run per worker (past that: kBusy at once). The hub
// POSTs {"user": "<id>", "room": "<room>"} with Content-Type application/json; 200 allows
// (and is cached per worker for cache_ttl), 401/403 and other 4xx refuse, anything else (5xx,
// a connection failure, an unparsable answer) is an error. A new connection per call (the
// backend's keep-alive is not relied on). The URL's host is resolved once, at start.
//
// Not thread-safe: used only from its worker's thread. Callbacks run on that thread, never
// inside ask().
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bounded_map.hpp"
#include "common/result.hpp"
#include "net/hook_slots.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

struct SubscribeHookConfig {
    std::string url;  // http://host[:port]/path; empty: no hook
    std::chrono::milliseconds timeout{2000};
    std::chrono::seconds cache_ttl{60};       // 0: every subscribe asks the backend
    std::size_t max_pending = 256;            // calls in flight per worker
    std::size_t max_per_user = 16;            // calls running or waiting per user, per worker
    std::size_t max_queued = 1024;            // calls waiting for a slot, per worker
    std::size_t max_cache_entries = 100000;   // cached (user, room) answers per worker
};

// Where the hook goes: parsed and resolved at start.
struct HookTarget {
    std::string host;    // for the Host header
    std::string target;  // path and query
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
};

// Parses an http:// URL and resolves its host (blocking: startup, or a thread of its own).
// https is refused with a message naming `flag` (use a local plain-HTTP endpoint or sidecar).
[[nodiscard]] Result<HookTarget, std::string> resolve_http_url(std::string_view flag,
                                                               std::string_view url);

class SubscribeHook {
public:
    using Clock = std::chrono::steady_clock;
    enum class Verdict { kAllowed, kRefused, kTimeout, kError, kBusy };
    using Callback = std::function<void(Verdict)>;

    SubscribeHook(boost::asio::io_context& io, SubscribeHookConfig config, HookTarget target);

    // True when the backend allowed this (user, room) within the cache TTL.
    [[nodiscard]] bool cached(std::string_view user, std::string_view room, Clock::time_point now);
    // Asks the backend; `done` runs later on this thread (also for kBusy).
    void ask(std::string_view user, std::string_view room, Callback done);
    [[nodiscard]] std::size_t pending() const noexcept { return slots_.in_flight(); }
    [[nodiscard]] std::size_t queued() const noexcept { return slots_.queued(); }

private:
    struct Call;
    void finish(const Call& call, Verdict verdict);

    boost::asio::io_context& io_;
    SubscribeHookConfig config_;
    HookTarget target_;
    HookSlots slots_;
    struct Allowed {};
    BoundedMap<std::string, Allowed> allowed_;  // "user\0room", for cache_ttl; oldest evicted
};

// What a hook's verdict means for the nudge:subscribe that asked (ack and metrics).
[[nodiscard]] inline session::SubscribeOutcome subscribe_outcome(SubscribeHook::Verdict verdict) noexcept {
    using session::SubscribeOutcome;
    switch (verdict) {
        case SubscribeHook::Verdict::kAllowed: return SubscribeOutcome::kGrantedHook;
        case SubscribeHook::Verdict::kRefused: return SubscribeOutcome::kHookRefused;
        case SubscribeHook::Verdict::kTimeout: return SubscribeOutcome::kHookTimeout;
        case SubscribeHook::Verdict::kBusy: return SubscribeOutcome::kBusy;
        case SubscribeHook::Verdict::kError: break;
    }
    return SubscribeOutcome::kHookError;
}

}  // namespace nudge::net
