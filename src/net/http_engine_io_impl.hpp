// HttpConnection's Engine.IO part (see http_connection.hpp): polling requests routed to their
// session (moved to its worker with the socket, before the body is read), polling handshakes
// admitted like connections, held GETs, and WebSocket upgrades (new, or the probe of a
// polling session). The HTTP/1.1 reading and writing is in http_connection_impl.hpp.
#pragma once

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <utility>

#include "eio/packet.hpp"
#include "metrics/metrics.hpp"
#include "net/http_connection.hpp"
#include "net/http_target.hpp"
#include "net/polling_session.hpp"
#include "net/worker.hpp"
#include "ws/frame_writer.hpp"
#include "ws/handshake.hpp"

namespace nudge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

template <class Stream>
bool BasicHttpConnection<Stream>::route_elsewhere(std::string_view sid, bool migrated) {
    const auto& context = worker_.context();
    if (!migrated) {
        // Sessions live on one worker: the request moves there with its socket, mid-message.
        if (const auto owner = context.polling.owner(sid);
            owner && *owner != worker_.index() && *owner < context.workers.size()) {
            migrate(*owner);
            return false;
        }
    }
    // No worker holds it (ended, upgraded, or held by another hub): a POST's body is not read
    // (the connection closes after the answer). Other requests are answered once read.
    if (parser_->get().method() != http::verb::post) return true;
    set_cors_origin(parser_->get());
    keep_alive_ = false;
    answer_error(eio::HandshakeError::kUnknownSid);
    return false;
}

template <class Stream>
void BasicHttpConnection<Stream>::resume(std::unique_ptr<Parser> parser, std::string_view early_bytes) {
    buffer_.commit(asio::buffer_copy(buffer_.prepare(early_bytes.size()),
                                     asio::buffer(early_bytes.data(), early_bytes.size())));
    parser_ = std::move(parser);
    stream_.expires_after(worker_.context().limits.http_idle_timeout);
    on_header(true);
}

template <class Stream>
void BasicHttpConnection<Stream>::set_cors_origin(const Request& request) {
    cors_origin_.clear();
    const std::string_view origin = request[http::field::origin];
    if (!origin.empty() && worker_.context().origins.listed(origin)) cors_origin_ = std::string(origin);
}

template <class Stream>
void BasicHttpConnection<Stream>::release_hold() noexcept {
    if (poll_owner_ == nullptr) return;
    poll_owner_ = nullptr;
    metrics::registry().polling_held_gets.add(-1);
}

template <class Stream>
std::optional<std::uint32_t> BasicHttpConnection<Stream>::take_admission() {
    // The first session or WebSocket opened on this connection takes over its admission (as
    // an upgrade always did); each later one is admitted like a new connection, so one
    // keep-alive connection cannot open sessions past the per-address limit or the rate.
    if (!admission_taken_) {
        admission_taken_ = true;
        return std::exchange(ip_key_, 0);
    }
    std::uint32_t key = 0;
    const Admission::Verdict verdict = worker_.context().admission.admit(address_, key);
    if (verdict == Admission::Verdict::kAdmitted) return key;
    auto& registry = metrics::registry();
    const bool per_address = verdict == Admission::Verdict::kTooManyFromAddress;
    (per_address ? registry.refused_per_address : registry.refused_rate).add(1);
    Response response =
        per_address ? error(429, "too_many_connections",
                            "nudged: too many connections from this address "
                            "(--max-connections-per-ip); close one, then retry")
                    : error(429, "rate_limited",
                            "nudged: too many new connections per second (--max-connect-rate); "
                            "retry in a second");
    answer_refusal(std::move(response));
    return std::nullopt;
}

template <class Stream>
void BasicHttpConnection<Stream>::answer_refusal(Response response) {
    response.set(http::field::retry_after, "1");
    add_cors(response);
    response.keep_alive(keep_alive_);
    send(std::move(response), !keep_alive_);
}

template <class Stream>
void BasicHttpConnection<Stream>::add_cors(Response& response) const {
    if (cors_origin_.empty()) return;
    // Never Access-Control-Allow-Credentials: authentication is the CONNECT token, not cookies.
    response.set(http::field::access_control_allow_origin, cors_origin_);
    response.set(http::field::vary, "Origin");
}

template <class Stream>
void BasicHttpConnection<Stream>::answer_error(eio::HandshakeError error) {
    metrics::registry().handshake_rejections.add(1);
    const bool held = poll_owner_ != nullptr;
    release_hold();
    Response response = make_response(error == eio::HandshakeError::kForbidden ? 403 : 400,
                                      eio::error_body(error), "application/json");
    add_cors(response);
    response.keep_alive(keep_alive_);
    if (held) stream_.cancel();  // a held GET's pending read
    send(std::move(response), !keep_alive_);
}

template <class Stream>
void BasicHttpConnection<Stream>::answer_poll(std::string payload) {
    const bool held = poll_owner_ != nullptr;
    release_hold();
    Response response = make_response(200, std::move(payload), "text/plain; charset=UTF-8");
    add_cors(response);
    response.keep_alive(keep_alive_);
    if (held) stream_.cancel();  // ends the read that watched for the client going away
    send(std::move(response), !keep_alive_);
}

template <class Stream>
void BasicHttpConnection<Stream>::hold(PollingSession& session) {
    poll_owner_ = &session;
    metrics::registry().polling_held_gets.add(1);
    watch_held_poll();
}

template <class Stream>
void BasicHttpConnection<Stream>::watch_held_poll() {
    // No deadline: the session answers within the ping interval. A read stays pending so a
    // client that gives up on its poll (EOF, reset) is noticed at once.
    stream_.expires_never();
    stream_.async_read_some(
        buffer_.prepare(1024), [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) self->buffer_.commit(n);  // a pipelined request: served after the answer
            if (self->poll_owner_ == nullptr) return;
            if (ec) {
                PollingSession* owner = self->poll_owner_;
                self->release_hold();
                owner->on_poll_aborted();
                return;
            }
            if (self->buffer_.size() <= self->worker_.context().limits.max_header_bytes) {
                self->watch_held_poll();
            }
        });
}

template <class Stream>
void BasicHttpConnection<Stream>::handle_engine_io(Request& request) {
    const auto& context = worker_.context();
    const bool upgrade = beast::websocket::is_upgrade(request);
    keep_alive_ = request.keep_alive() && !upgrade;
    set_cors_origin(request);
    const std::string_view origin = request[http::field::origin];
    const std::string_view query = query_of(request.target());
    auto refuse = [&](eio::HandshakeError reason) {
        // Info, rate-limited: a client offering what the hub does not serve (a transport, a
        // protocol version, a session it does not hold) is otherwise invisible.
        if (auto held = worker_.refused_request_log(static_cast<std::size_t>(reason)).allow()) {
            spdlog::info(
                "engine.io request refused source={} reason=\"{}\" method={} transport={} eio={} "
                "suppressed={}",
                remote_, eio::message(reason), request.method_string(),
                eio::query_param(query, "transport").value_or("-"),
                eio::query_param(query, "EIO").value_or("-"), *held);
        }
        answer_error(reason);
    };
    if (!context.origins.allowed.empty() && !origin.empty() && cors_origin_.empty()) {
        refuse(eio::HandshakeError::kForbidden);
        return;
    }
    if (request.method() == http::verb::options && !cors_origin_.empty()) {
        // CORS preflight for a listed origin (socket.io-client sends one with extraHeaders).
        Response response = make_response(204, {}, "text/plain");
        add_cors(response);
        response.set(http::field::access_control_allow_methods, "GET, POST");
        response.set(http::field::access_control_allow_headers, "Content-Type");
        response.set(http::field::access_control_max_age, "600");
        response.keep_alive(keep_alive_);
        send(std::move(response), !keep_alive_);
        return;
    }
    auto check = eio::check_request(query, request.method_string(), upgrade);
    if (!check) {
        refuse(check.error());
        return;
    }
    const eio::RequestInfo info = *check;
    if (info.sid.empty()) {
        if (info.transport == eio::Transport::kWebSocket) {
            upgrade_to_websocket(request, nullptr);
            return;
        }
        if (context.shutting_down.load(std::memory_order_relaxed)) {
            send(error(503, "shutting_down", "the hub is shutting down; reconnect to another"), true);
            return;
        }
        if (context.polling_sessions.load(std::memory_order_relaxed) >=
            context.limits.max_polling_sessions) {
            metrics::registry().polling_sessions_refused.add(1);
            answer_refusal(error(503, "too_many_sessions",
                                 "nudged: --max-polling-sessions sessions are open; retry later, "
                                 "or use the WebSocket transport"));
            return;
        }
        const auto ip_key = take_admission();
        if (!ip_key) return;
        PollingSession& session = PollingSession::open(worker_, *ip_key);
        answer_poll(session.open_packet());
        return;
    }
    if (PollingSession* session = worker_.polling_session(info.sid)) {
        serve_session(request, info, *session);
        return;
    }
    // Closed, upgraded, never existed, or held by another hub (no sticky routing): the
    // client starts a new session.
    if (info.transport == eio::Transport::kWebSocket) {
        if (auto held = worker_.refused_request_log(static_cast<std::size_t>(eio::HandshakeError::kUnknownSid)).allow()) {
            spdlog::info("engine.io request refused source={} reason=\"{}\" transport=websocket "
                         "suppressed={}",
                         remote_, eio::message(eio::HandshakeError::kUnknownSid), *held);
        }
        refuse_websocket_sid(request);
        return;
    }
    refuse(eio::HandshakeError::kUnknownSid);
}

template <class Stream>
void BasicHttpConnection<Stream>::refuse_websocket_sid(const Request& request) {
    // Engine.IO accepts such a WebSocket and closes it at once (its session is gone, already
    // upgraded or being upgraded); a client's probe then fails and it goes on with what it has.
    const ws::UpgradeRequest upgrade_request{
        request.method_string(), request[http::field::upgrade], request[http::field::connection],
        request[http::field::sec_websocket_key], request[http::field::sec_websocket_version]};
    auto accept = ws::check_upgrade(upgrade_request);
    if (!accept) {
        answer_error(eio::HandshakeError::kUnknownSid);
        return;
    }
    auto bytes = std::make_shared<std::string>(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: ");
    bytes->append(*accept).append("\r\n\r\n");
    bytes->append(ws::encode_close(ws::CloseCode::kPolicyViolation, eio::message(eio::HandshakeError::kUnknownSid)));
    stream_.expires_after(worker_.context().limits.http_idle_timeout);
    asio::async_write(stream_, asio::buffer(*bytes),
                      [self = this->shared_from_this(), bytes](beast::error_code ec, std::size_t) {
                          if (!ec) self->linger();
                      });
}

template <class Stream>
void BasicHttpConnection<Stream>::serve_session(Request& request, const eio::RequestInfo& info,
                                   PollingSession& session) {
    if (info.transport == eio::Transport::kWebSocket) {
        if (session.probing()) {
            // Engine.IO: "transport has already been trying to upgrade" (accepted, then closed).
            refuse_websocket_sid(request);
            return;
        }
        upgrade_to_websocket(request, &session);
        return;
    }
    if (request.method() == http::verb::get) {
        session.on_poll(this->shared_from_this());
        return;
    }
    if (const auto refused = session.on_post(request.body())) {
        answer_error(*refused);
        return;
    }
    Response response = make_response(200, "ok", "text/plain; charset=UTF-8");
    add_cors(response);
    response.keep_alive(keep_alive_);
    send(std::move(response), !keep_alive_);
}

template <class Stream>
void BasicHttpConnection<Stream>::migrate(std::size_t owner) {
    Worker& target = *worker_.context().workers[owner];
    std::string early = beast::buffers_to_string(buffer_.data());
    stream_.move_to(target.io(), [&target, parser = std::move(parser_), early = std::move(early),
                                  ip_key = std::exchange(ip_key_, 0), taken = admission_taken_,
                                  routes = routes_](std::optional<Stream> moved) mutable {
        if (!moved) {
            target.context().admission.release(ip_key);
            return;
        }
        auto connection =
            std::make_shared<BasicHttpConnection>(std::move(*moved), target, ip_key, routes);
        connection->admission_taken_ = taken;
        connection->resume(std::move(parser), early);
    });
}

template <class Stream>
void BasicHttpConnection<Stream>::upgrade_to_websocket(const Request& request, PollingSession* session) {
    auto& registry = metrics::registry();
    const ws::UpgradeRequest upgrade_request{
        request.method_string(), request[http::field::upgrade], request[http::field::connection],
        request[http::field::sec_websocket_key], request[http::field::sec_websocket_version]};
    auto accept = ws::check_upgrade(upgrade_request);
    if (!accept) {
        registry.handshake_rejections.add(1);
        Response response = error(400, "bad_upgrade", std::string(ws::message(accept.error())));
        if (accept.error() == ws::HandshakeError::kBadVersion) {
            response.set(http::field::sec_websocket_version, "13");
        }
        send(std::move(response), true);
        return;
    }
    if (worker_.context().shutting_down.load(std::memory_order_relaxed)) {
        send(error(503, "shutting_down", "the hub is shutting down; reconnect to another"), true);
        return;
    }
    const auto ip_key = take_admission();
    if (!ip_key) return;
    // Hand the stream over; bytes the client sent right after its request go with it.
    const std::string early = beast::buffers_to_string(buffer_.data());
    buffer_.clear();
    buffer_.shrink_to_fit();
    if (!stream_.start_websocket(worker_, *accept, early, *ip_key, session)) {
        worker_.context().admission.release(*ip_key);
    }
}

}  // namespace nudge::net
