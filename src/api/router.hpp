// Router: the HTTP API's routes as a pure function from a parsed request to a response, so
// every status and error body is unit-tested without sockets. net/ does the HTTP parsing,
// the body limit (413) and keep-alive; the Engine.IO path (/socket.io/) never reaches here.
//
//   POST /api/v1/emit   publish (Authorization: Bearer <api key>) → 202 {"accepted": N},
//                       503 "overloaded" (Retry-After: 1) when fan-out is behind
//   GET  /healthz       liveness: 200 whenever the process answers, until it exits
//   GET  /readyz        readiness: 200 while serving, 503 while draining (after SIGTERM) and
//                       shutting down, so a load balancer stops sending new clients here
//   GET  /metrics       Prometheus text
//
// Thread-safe: handle() is const; the broker is thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "api/publish_request.hpp"
#include "broker/broker.hpp"

namespace nudge::api {

struct Config {
    std::string api_key;
    std::size_t max_body = std::size_t{1024} * 1024;
    PublishLimits limits;
};

struct Request {
    std::string_view method;
    std::string_view target;         // path and query
    std::string_view authorization;  // header value, empty when absent
    std::string_view body;
};

struct Response {
    Response(unsigned status_in, std::string body_in,
             std::string_view content_type_in = "application/json")
        : status(status_in), body(std::move(body_in)), content_type(content_type_in) {}

    unsigned status;
    std::string body;
    std::string_view content_type;
    std::string_view allow;        // for 405
    std::string_view retry_after;  // for 503
};

// Constant-time check of "Bearer <key>" (the comparison time does not depend on where the
// first differing byte is, nor on the key's length).
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view key);

[[nodiscard]] Response error_response(unsigned status, std::string code, std::string message);

class Router {
public:
    // `ready` answers /readyz: false once the process drains or shuts down.
    Router(Config config, broker::Broker& broker, std::function<bool()> ready);

    [[nodiscard]] Response handle(const Request& request) const;
    [[nodiscard]] const Config& config() const noexcept { return config_; }

private:
    Response publish(const Request& request) const;

    Config config_;
    broker::Broker& broker_;
    std::function<bool()> ready_;
};

}  // namespace nudge::api
