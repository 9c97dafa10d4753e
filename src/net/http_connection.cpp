#include "net/http_connection.hpp"

#include <spdlog/spdlog.h>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "api/router.hpp"
#include "eio/packet.hpp"
#include "metrics/metrics.hpp"
#include "net/polling_session.hpp"
#include "net/worker.hpp"
#include "net/ws_connection.hpp"
#include "ws/handshake.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include "ws/frame_writer.hpp"
#include <unistd.h>
#include <utility>

namespace nudge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view kEngineIoPath = "/socket.io/";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

std::string_view query_of(std::string_view target) {
    const auto q = target.find('?');
    return q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
}

// RFC 9112 §6.3: Transfer-Encoding together with Content-Length, or a final coding other
// than chunked (the length of such a request body cannot be determined), is a 400.
// Returns the problem, or an empty view when the framing is unambiguous.
template <class Fields>
std::string_view framing_problem(const Fields& fields) {
    auto codings = fields.equal_range(http::field::transfer_encoding);
    if (codings.first == codings.second) return {};
    if (fields.count(http::field::content_length) != 0) {
        return "both Transfer-Encoding and Content-Length";
    }
    std::string_view last;
    std::size_t chunked = 0;
    for (auto it = codings.first; it != codings.second; ++it) {
        for (const auto coding : http::token_list(it->value())) {
            last = std::string_view(coding.data(), coding.size());
            if (beast::iequals(coding, "chunked")) ++chunked;
        }
    }
    if (!beast::iequals(last, "chunked") || chunked != 1) {
        return "the final Transfer-Encoding must be chunked, once";
    }
    return {};
}

std::string remote_address(const asio::ip::tcp::socket& socket) {
    boost::system::error_code ec;
    const auto endpoint = socket.remote_endpoint(ec);
    return ec ? std::string("unknown") : endpoint.address().to_string();
}

}  // namespace

HttpConnection::HttpConnection(asio::ip::tcp::socket socket, Worker& worker, std::uint32_t ip_key,
                               api::Routes routes)
    : stream_(std::move(socket)),
      worker_(worker),
      routes_(routes),
      remote_(remote_address(stream_.socket())),
      ip_key_(ip_key) {}

HttpConnection::~HttpConnection() { worker_.context().admission.release(ip_key_); }

void HttpConnection::start() { read_request(); }

void HttpConnection::read_request() {
    const auto& context = worker_.context();
    migrated_.reset();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(context.limits.max_header_bytes));
    parser_->body_limit(context.router->config().max_body);
    stream_.expires_after(context.limits.http_idle_timeout);
    // The header first: the framing is decided before a body byte is read.
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) {
                                    self->on_read_error(ec);
                                    return;
                                }
                                if (path_of(self->parser_->get().target()) == kEngineIoPath) {
                                    // Engine.IO's maxHttpBufferSize: a POST is one payload.
                                    // Beast checks a Content-Length against the limit only
                                    // while parsing the header, so check it here too.
                                    const auto limit = self->worker_.context().session.config.max_payload;
                                    self->parser_->body_limit(limit);
                                    if (const auto length = self->parser_->content_length();
                                        length && *length > limit) {
                                        self->on_read_error(http::error::body_limit);
                                        return;
                                    }
                                }
                                if (const auto problem = framing_problem(self->parser_->get());
                                    !problem.empty()) {
                                    self->send(self->error(400, "bad_framing", std::string(problem)),
                                               true);
                                    return;
                                }
                                self->read_body();
                            });
}

void HttpConnection::read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) {
                             self->on_read_error(ec);
                             return;
                         }
                         self->on_request();
                     });
}

void HttpConnection::on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit) {
        const auto target = parser_->get().target();
        if (path_of(target) == kEngineIoPath) {
            // A polling POST over maxPayload closes its session, as in Engine.IO.
            const auto sid = eio::query_param(query_of(target), "sid");
            const auto& context = worker_.context();
            if (PollingSession* session = sid ? worker_.polling_session(*sid) : nullptr) {
                session->on_post_too_large();
            } else if (const auto owner = sid ? context.polling.owner(*sid) : std::nullopt;
                       owner && *owner < context.workers.size()) {
                // The session lives on another worker: close it there.
                Worker& target_worker = *context.workers[*owner];
                asio::post(target_worker.io(), [&target_worker, id = std::string(*sid)] {
                    if (PollingSession* remote = target_worker.polling_session(id)) {
                        remote->on_post_too_large();
                    }
                });
            }
            send(error(413, "payload_too_large", "body over --max-payload"), true);
            return;
        }
        send(error(413, "payload_too_large", "body over --max-body"), true);
        return;
    }
    if (ec == http::error::header_limit) {
        send(error(431, "headers_too_large", "request headers too large"), true);
        return;
    }
    // A request Beast refused to parse gets an answer; a peer that went away (EOF, reset,
    // a request cut short) or stayed silent past the deadline does not.
    if (ec.category() != http::make_error_code(http::error::bad_target).category() ||
        ec == http::error::end_of_stream || ec == http::error::partial_message ||
        ec == http::error::need_more || ec == http::error::need_buffer) {
        return;
    }
    const bool framing = ec == http::error::bad_content_length ||
                         ec == http::error::bad_transfer_encoding || ec == http::error::bad_chunk ||
                         ec == http::error::bad_chunk_extension;
    spdlog::debug("http request rejected source={} error=\"{}\"", remote_, ec.message());
    send(error(400, framing ? "bad_framing" : "bad_request", ec.message()), true);
}

HttpConnection::Response HttpConnection::make_response(unsigned status, std::string body,
                                                       std::string_view content_type) const {
    Response response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "nudged");
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

HttpConnection::Response HttpConnection::error(unsigned status, std::string code,
                                               std::string message) const {
    api::Response r = api::error_response(status, std::move(code), std::move(message));
    return make_response(r.status, std::move(r.body), r.content_type);
}

void HttpConnection::on_request() {
    Request& request = parser_->get();
    const std::string_view target = request.target();
    if (routes_ == api::Routes::kAll && path_of(target) == kEngineIoPath) {
        handle_engine_io(request, false);
        if (poll_owner_ != nullptr) parser_.reset();  // a held GET keeps no parser
        return;
    }
    const api::Request api_request{request.method_string(), target,
                                   request[http::field::authorization], request.body(), remote_,
                                   routes_};
    // The answer may come later from the broker's thread (Redis): it is sent from this
    // connection's executor; the connection reads no further request meanwhile.
    worker_.context().router->handle(
        api_request, [self = shared_from_this(), method = std::string(request.method_string()),
                      path = std::string(path_of(target)), head = request.method() == http::verb::head,
                      keep_alive = request.keep_alive()](api::Response result) mutable {
            auto answer = [self, method = std::move(method), path = std::move(path), head, keep_alive,
                           result = std::move(result)]() mutable {
                spdlog::debug("http {} {} status={}", method, path, result.status);
                Response response =
                    self->make_response(result.status, std::move(result.body), result.content_type);
                if (!result.allow.empty()) response.set(http::field::allow, result.allow);
                if (!result.retry_after.empty()) response.set(http::field::retry_after, result.retry_after);
                if (head) response.body().clear();
                response.keep_alive(keep_alive);
                self->send(std::move(response), !keep_alive);
            };
            if (self->worker_.io().get_executor().running_in_this_thread()) {
                answer();
            } else {
                asio::post(self->worker_.io(), std::move(answer));
            }
        });
}

void HttpConnection::resume(Request request, std::string_view early_bytes) {
    buffer_.commit(asio::buffer_copy(buffer_.prepare(early_bytes.size()),
                                     asio::buffer(early_bytes.data(), early_bytes.size())));
    migrated_ = std::make_unique<Request>(std::move(request));
    handle_engine_io(*migrated_, true);
}

void HttpConnection::add_cors(Response& response) const {
    if (cors_origin_.empty()) return;
    // Never Access-Control-Allow-Credentials: authentication is the CONNECT token, not cookies.
    response.set(http::field::access_control_allow_origin, cors_origin_);
    response.set(http::field::vary, "Origin");
}

void HttpConnection::answer_error(eio::HandshakeError error) {
    metrics::registry().handshake_rejections.add(1);
    const bool held = poll_owner_ != nullptr;
    poll_owner_ = nullptr;
    Response response = make_response(error == eio::HandshakeError::kForbidden ? 403 : 400,
                                      eio::error_body(error), "application/json");
    add_cors(response);
    response.keep_alive(keep_alive_);
    if (held) stream_.cancel();  // a held GET's pending read
    send(std::move(response), !keep_alive_);
}

void HttpConnection::answer_poll(std::string payload) {
    const bool held = poll_owner_ != nullptr;
    poll_owner_ = nullptr;
    Response response = make_response(200, std::move(payload), "text/plain; charset=UTF-8");
    add_cors(response);
    response.keep_alive(keep_alive_);
    if (held) stream_.cancel();  // ends the read that watched for the client going away
    send(std::move(response), !keep_alive_);
}

void HttpConnection::hold(PollingSession& session) {
    poll_owner_ = &session;
    watch_held_poll();
}

void HttpConnection::watch_held_poll() {
    // No deadline: the session answers within the ping interval. A read stays pending so a
    // client that gives up on its poll (EOF, reset) is noticed at once.
    stream_.expires_never();
    stream_.async_read_some(
        buffer_.prepare(1024), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
            if (ec == asio::error::operation_aborted) return;
            if (!ec) self->buffer_.commit(n);  // a pipelined request: served after the answer
            if (self->poll_owner_ == nullptr) return;
            if (ec) {
                std::exchange(self->poll_owner_, nullptr)->on_poll_aborted();
                return;
            }
            if (self->buffer_.size() <= self->worker_.context().limits.max_header_bytes) {
                self->watch_held_poll();
            }
        });
}

void HttpConnection::handle_engine_io(Request& request, bool migrated) {
    const auto& context = worker_.context();
    const bool upgrade = beast::websocket::is_upgrade(request);
    keep_alive_ = request.keep_alive() && !upgrade;
    cors_origin_.clear();
    const std::string_view origin = request[http::field::origin];
    if (!origin.empty() && context.origins.listed(origin)) cors_origin_ = std::string(origin);
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
        PollingSession& session = PollingSession::open(worker_);
        answer_poll(session.open_packet());
        return;
    }
    if (PollingSession* session = worker_.polling_session(info.sid)) {
        serve_session(request, info, *session);
        return;
    }
    if (!migrated) {
        if (const auto owner = context.polling.owner(info.sid);
            owner && *owner != worker_.index() && *owner < context.workers.size()) {
            migrate(*owner);
            return;
        }
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

void HttpConnection::refuse_websocket_sid(const Request& request) {
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
                      [self = shared_from_this(), bytes](beast::error_code ec, std::size_t) {
                          if (!ec) self->linger();
                      });
}

void HttpConnection::serve_session(Request& request, const eio::RequestInfo& info,
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
        session.on_poll(shared_from_this());
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

void HttpConnection::migrate(std::size_t owner) {
    Worker& target = *worker_.context().workers[owner];
    auto request = std::make_shared<Request>(parser_ ? parser_->release() : std::move(*migrated_));
    std::string early = beast::buffers_to_string(buffer_.data());
    stream_.expires_never();
    asio::ip::tcp::socket socket = stream_.release_socket();
    boost::system::error_code ec;
    const auto protocol = socket.local_endpoint(ec).protocol();
    if (ec) return;
    const int fd = socket.release(ec);
    if (ec) return;
    asio::post(target.io(), [&target, fd, protocol, request, early = std::move(early),
                             ip_key = std::exchange(ip_key_, 0), routes = routes_] {
        asio::ip::tcp::socket moved(target.io());
        boost::system::error_code assign_ec;
        moved.assign(protocol, fd, assign_ec);
        if (assign_ec) {
            ::close(fd);
            target.context().admission.release(ip_key);
            return;
        }
        auto connection = std::make_shared<HttpConnection>(std::move(moved), target, ip_key, routes);
        connection->resume(std::move(*request), early);
    });
}

void HttpConnection::upgrade_to_websocket(const Request& request, PollingSession* session) {
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
    // Hand the socket over; bytes the client sent right after its request go with it. The
    // descriptor leaves asio for the worker's epoll set (see poller.hpp: far less memory per
    // idle client).
    const std::string early = beast::buffers_to_string(buffer_.data());
    buffer_.clear();
    buffer_.shrink_to_fit();
    stream_.expires_never();
    asio::ip::tcp::socket released = stream_.release_socket();
    boost::system::error_code ec;
    const int fd = released.release(ec);
    if (ec) return;
    WsConnection<EpollSocket>::start(EpollSocket(worker_.poller(), fd), worker_, *accept, early,
                                     std::exchange(ip_key_, 0), session);
}

void HttpConnection::linger() {
    // Half-close, then read and discard until the client closes (or the deadline passes):
    // closing with unread input would send an RST that can destroy the answer we just
    // wrote, e.g. a 413 while the client is still sending its body.
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (!ec) self->linger_read();
                            });
}

void HttpConnection::linger_read() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (!ec) self->linger_read();
                            });
}

void HttpConnection::send(Response response, bool close_after) {
    metrics::registry().api_requests[metrics::api_status(response.result_int())].add(1);
    if (close_after) response.keep_alive(false);  // says "Connection: close"
    auto shared = std::make_shared<Response>(std::move(response));
    stream_.expires_after(worker_.context().limits.http_idle_timeout);
    http::async_write(stream_, *shared,
                      [self = shared_from_this(), shared, close_after](beast::error_code ec,
                                                                       std::size_t) {
                          if (ec) return;
                          if (close_after) {
                              self->linger();
                              return;
                          }
                          self->read_request();
                      });
}

}  // namespace nudge::net
