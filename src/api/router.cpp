#include "api/router.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <openssl/crypto.h>

#include <array>
#include <optional>

#include "common/digest.hpp"
#include "metrics/metrics.hpp"

namespace nudge::api {

namespace {

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

bool bearer_matches(std::string_view authorization, std::string_view key) {
    constexpr std::string_view kScheme = "Bearer ";
    if (key.empty() || authorization.size() < kScheme.size()) return false;
    // The scheme is case-insensitive (RFC 7235 §2.1); it is not secret.
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) !=
            std::tolower(static_cast<unsigned char>(kScheme[i]))) {
            return false;
        }
    }
    // Comparing digests makes the comparison constant-time and independent of lengths.
    const auto given = sha256(authorization.substr(kScheme.size()));
    const auto expected = sha256(key);
    return CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

Response error_response(unsigned status, std::string code, std::string message) {
    return {status, error_body(ApiError{static_cast<int>(status), std::move(code), std::move(message)})};
}

Router::Router(Config config, broker::Broker& broker, std::function<bool()> ready)
    : config_(std::move(config)),
      auth_failures_(config_.auth_failures),
      broker_(broker),
      ready_(std::move(ready)) {}

void Router::handle(const Request& request, Respond respond) const {
    const std::string_view path = path_of(request.target);
    auto method_not_allowed = [&](std::string_view allow) {
        Response r = error_response(405, "method_not_allowed",
                                    fmt::format("{} does not accept {}", path, request.method));
        r.allow = allow;
        return r;
    };

    if (path == "/healthz" || path == "/readyz" || path == "/metrics") {
        respond(metrics_route(request, path));
        return;
    }
    const auto not_found = [&] {
        return error_response(404, "not_found", fmt::format("no route for {}", path));
    };
    if (request.routes == Routes::kMetricsOnly) {
        respond(not_found());
        return;
    }
    if (path == "/api/v1/emit") {
        if (request.method != "POST") {
            respond(method_not_allowed("POST"));
            return;
        }
        publish(request, std::move(respond));
        return;
    }
    if (path == "/api/v1/position") {
        if (request.method != "GET") {
            respond(method_not_allowed("GET"));
            return;
        }
        position(request, std::move(respond));
        return;
    }
    for (const auto kind : {hub::RoomOpKind::kJoin, hub::RoomOpKind::kLeave,
                            hub::RoomOpKind::kDisconnect}) {
        if (path == fmt::format("/api/v1/rooms/{}", hub::to_string(kind))) {
            if (request.method != "POST") {
                respond(method_not_allowed("POST"));
                return;
            }
            room_op(request, kind, std::move(respond));
            return;
        }
    }
    respond(not_found());
}

Response Router::metrics_route(const Request& request, std::string_view path) const {
    if (path == "/metrics" && config_.metrics_elsewhere && request.routes == Routes::kAll) {
        return error_response(404, "not_found", "/metrics is served on the metrics listener");
    }
    if (request.method != "GET" && request.method != "HEAD") {
        Response r = error_response(405, "method_not_allowed",
                                    fmt::format("{} does not accept {}", path, request.method));
        r.allow = "GET, HEAD";
        return r;
    }
    // Liveness and readiness are separate questions (the Kubernetes probe model): a draining
    // hub is alive (restarting it would cut its clients early) but should get no new clients.
    if (path == "/healthz") {
        const broker::Health health = broker_.health();
        return {200, fmt::format(R"({{"status":"ok","broker":{{"kind":"{}","connected":{}}}}})",
                                 health.kind, health.connected)};
    }
    if (path == "/readyz") {
        if (ready_ && !ready_()) return {503, R"({"status":"draining"})"};
        return {200, R"({"status":"ready"})"};
    }
    return {200, metrics::registry().render(), "text/plain; version=0.0.4"};
}

std::optional<Response> Router::check_api_key(const Request& request) const {
    const auto now = AuthFailures::Clock::now();
    auto& registry = metrics::registry();
    if (const auto left = auth_failures_.blocked(request.remote, now)) {
        registry.api_auth_backoffs.add(1);
        Response r = error_response(429, "too_many_auth_failures",
                                    "too many wrong API keys from this address; retry later");
        r.retry_after = fmt::format("{}", left->count());
        return r;
    }
    if (!bearer_matches(request.authorization, config_.api_key)) {
        registry.api_auth_failures.add(1);
        const AuthFailures::Outcome outcome = auth_failures_.record(request.remote, now);
        if (outcome.log) {
            spdlog::warn("api key rejected source={} failures={}", request.remote, outcome.failures);
        }
        if (outcome.now_blocked) {
            spdlog::warn("api key backoff started source={} seconds={}", request.remote,
                         config_.auth_failures.backoff_window.count());
        }
        return error_response(401, "unauthorized",
                              "missing or wrong API key (Authorization: Bearer <key>)");
    }
    return std::nullopt;
}

namespace {

Response overloaded() {
    Response busy = error_response(503, "overloaded", "the hub is behind on deliveries; retry shortly");
    busy.retry_after = std::string(1, '1');  // not = "1": GCC 12 -Wrestrict false positive
    return busy;
}

// The broker refused the request: fan-out is behind, or Redis is unreachable.
Response refused(broker::PublishResult result) {
    if (result == broker::PublishResult::kOverloaded) return overloaded();
    Response down = error_response(503, "broker_unavailable",
                                   "the hub cannot reach its broker (Redis); retry shortly");
    down.retry_after = std::string(1, '1');
    return down;
}

}  // namespace

void Router::room_op(const Request& request, hub::RoomOpKind kind, Respond respond) const {
    if (auto refusal = check_api_key(request)) {
        respond(std::move(*refusal));
        return;
    }
    auto op = parse_room_op(kind, request.body, config_.limits);
    if (!op) {
        respond(error_response(static_cast<unsigned>(op.error().status), op.error().code,
                               op.error().message));
        return;
    }
    broker_.apply(std::make_shared<const hub::RoomOp>(std::move(*op)),
                  [kind, respond = std::move(respond)](broker::PublishResult result) {
                      if (result != broker::PublishResult::kAccepted) {
                          respond(refused(result));
                          return;
                      }
                      metrics::registry().room_ops[kind].add(1);
                      // Applied on every worker (of every hub) asynchronously; an event
                      // published after this answer reaches the sockets a join added (see
                      // Hub::apply).
                      respond({202, R"({"accepted":true})"});
                  });
}

void Router::position(const Request& request, Respond respond) const {
    if (auto refusal = check_api_key(request)) {
        respond(std::move(*refusal));
        return;
    }
    if (!config_.recovery) {
        respond(error_response(409, "recovery_off",
                               "nudged has no positions without connection-state recovery; "
                               "start it with --recovery auto (the default) or --recovery on"));
        return;
    }
    // A position made while Redis is unreachable would be a guess; the renderer should retry
    // (or render without one, and its client then resyncs as after any unrecovered connect).
    if (!broker_.health().connected) {
        respond(refused(broker::PublishResult::kUnavailable));
        return;
    }
    // A recovery query for no rooms from no position answers just the position now, from
    // whichever broker this is (the Redis broker asks Redis, so every hub of a cluster agrees).
    broker::RecoveryRequest request_position;
    request_position.for_rendered_page = true;
    broker_.recover(std::move(request_position), [respond = std::move(respond)](const broker::Recovery& recovery) {
        if (recovery.now.epoch.empty()) {
            respond(refused(broker::PublishResult::kUnavailable));
            return;
        }
        respond({200, fmt::format(R"({{"offset":"{}","pid":"{}"}})",
                                  format_offset(recovery.now.epoch, recovery.now.seq),
                                  make_pid(recovery.now.epoch, recovery.now.seq))});
    });
}

void Router::publish(const Request& request, Respond respond) const {
    if (auto refusal = check_api_key(request)) {
        respond(std::move(*refusal));
        return;
    }
    auto batch = parse_publish(request.body, config_.limits);
    if (!batch) {
        respond(error_response(static_cast<unsigned>(batch.error().status), batch.error().code,
                               batch.error().message));
        return;
    }
    const std::size_t accepted = batch->size();
    broker_.publish(std::move(*batch), [accepted, respond = std::move(respond)](
                                           const broker::PublishOutcome& outcome) {
        if (outcome.result != broker::PublishResult::kAccepted) {
            respond(refused(outcome.result));
            return;
        }
        metrics::registry().emits.add(static_cast<std::int64_t>(accepted));
        // Each event's position ("<epoch>:<seq>", the offset clients see as its last
        // argument); a duplicate id answers with the position of the event first published
        // with it.
        std::string body = fmt::format(R"({{"accepted":{},"events":[)", accepted);
        for (std::size_t i = 0; i < outcome.events.size(); ++i) {
            const broker::Published& event = outcome.events[i];
            fmt::format_to(std::back_inserter(body), R"({}{{"offset":"{}"{}}})", i == 0 ? "" : ",",
                           format_offset(outcome.epoch, event.seq),
                           event.duplicate ? R"(,"duplicate":true)" : "");
        }
        body += "]}";
        respond({202, std::move(body)});
    });
}

}  // namespace nudge::api
