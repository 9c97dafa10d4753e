// Router: the HTTP API's routes as a pure function from a parsed request to a response, so
// every status and error body is unit-tested without sockets. net/ does the HTTP parsing,
// the body limit (413) and keep-alive; the Engine.IO path (/socket.io/) never reaches here.
//
//   POST /api/v1/emit   publish (Authorization: Bearer <api key>) → 202 {"accepted": N},
//                       503 "overloaded" (Retry-After: 1) when fan-out is behind,
//                       503 "broker_unavailable" (Retry-After: 1) when Redis is down; a wrong
//                       key → 401, logged with the source address (rate-limited) and
//                       counted; 429 + Retry-After while the source is in backoff
//                       (AuthFailures, optional)
//   POST /api/v1/rooms/join        the sockets in `room` join rooms (Socket.IO socketsJoin)
//   POST /api/v1/rooms/leave       ... leave rooms (socketsLeave)
//   POST /api/v1/rooms/disconnect  ... are disconnected (disconnectSockets; a user room is
//                                  "log out everywhere"); same key, 202 {"accepted":true}
//   GET  /api/v1/position          the broker's position now (same key; --recovery on):
//                                  200 {"offset","pid"}. A server-rendered page embeds it and
//                                  its socket CONNECTs with that pid and offset, so the hub
//                                  replays what was published after the render (or names the
//                                  rooms that lost events); 409 "recovery_off" without
//                                  recovery, 503 "broker_unavailable" while Redis is down
//   GET  /healthz       liveness: 200 whenever the process answers, until it exits; the
//                       body names the broker and whether it is connected
//   GET  /readyz        readiness: 200 while serving, 503 while draining (after SIGTERM) and
//                       shutting down, so a load balancer stops sending new clients here
//   GET  /metrics       Prometheus text
//
// Routes may be restricted to the metrics routes (/metrics, /healthz, /readyz) for a listener that
// serves only those; with metrics_elsewhere, the main listener answers /metrics with 404.
//
// Thread-safe: handle() is const; the broker and AuthFailures are thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/auth_failures.hpp"
#include "api/publish_request.hpp"
#include "broker/broker.hpp"

namespace nudge::api {

struct Config {
    std::string api_key;
    std::size_t max_body = std::size_t{1024} * 1024;
    PublishLimits limits;
    AuthFailureConfig auth_failures;
    bool metrics_elsewhere = false;  // /metrics is served on its own listener (--metrics-port)
    bool recovery = false;           // --recovery on: /api/v1/position answers
};

// Which routes a listener serves.
enum class Routes { kAll, kMetricsOnly };

struct Request {
    std::string_view method;
    std::string_view target;         // path and query
    std::string_view authorization;  // header value, empty when absent
    std::string_view body;
    std::string_view remote;         // the client's address, for logs and the backoff
    Routes routes = Routes::kAll;
};

struct Response {
    Response(unsigned status_in, std::string body_in,
             std::string_view content_type_in = "application/json")
        : status(status_in), body(std::move(body_in)), content_type(content_type_in) {}

    unsigned status;
    std::string body;
    std::string_view content_type;
    std::string_view allow;        // for 405
    std::string retry_after;       // for 429 and 503
};

// Constant-time check of "Bearer <key>" (the comparison time does not depend on where the
// first differing byte is, nor on the key's length).
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view key);

[[nodiscard]] Response error_response(unsigned status, std::string code, std::string message);

class Router {
public:
    Router(Config config, broker::Broker& broker, std::function<bool()> ready);

    using Respond = std::function<void(Response)>;
    // Calls `respond` exactly once: inline for most routes; for the publish and room routes
    // when the broker has answered, which may be later and on another thread (a Redis
    // broker). The request's views need not outlive this call.
    void handle(const Request& request, Respond respond) const;
    [[nodiscard]] const Config& config() const noexcept { return config_; }

private:
    void publish(const Request& request, Respond respond) const;
    void room_op(const Request& request, hub::RoomOpKind kind, Respond respond) const;
    void position(const Request& request, Respond respond) const;
    // The Bearer key check shared by the write routes: a response when refused.
    std::optional<Response> check_api_key(const Request& request) const;
    Response metrics_route(const Request& request, std::string_view path) const;

    Config config_;
    mutable AuthFailures auth_failures_;
    broker::Broker& broker_;
    std::function<bool()> ready_;
};

}  // namespace nudge::api
