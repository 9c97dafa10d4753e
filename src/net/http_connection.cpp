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
#include "net/worker.hpp"
#include "net/ws_connection.hpp"

#include <utility>
#include "ws/handshake.hpp"

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
        handle_engine_io(request);
        return;
    }
    const api::Request api_request{request.method_string(), target,
                                   request[http::field::authorization], request.body(), remote_,
                                   routes_};
    api::Response result = worker_.context().router->handle(api_request);
    spdlog::debug("http {} {} status={}", request.method_string(), path_of(target), result.status);
    Response response = make_response(result.status, std::move(result.body), result.content_type);
    if (!result.allow.empty()) response.set(http::field::allow, result.allow);
    if (!result.retry_after.empty()) response.set(http::field::retry_after, result.retry_after);
    if (request.method() == http::verb::head) response.body().clear();
    response.keep_alive(request.keep_alive());
    send(std::move(response), !request.keep_alive());
}

void HttpConnection::handle_engine_io(const Request& request) {
    auto& registry = metrics::registry();
    const bool upgrade = beast::websocket::is_upgrade(request);
    if (auto check = eio::check_handshake(query_of(request.target()), upgrade); !check) {
        registry.handshake_rejections.add(1);
        Response response = make_response(400, eio::error_body(check.error()), "application/json");
        response.keep_alive(request.keep_alive() && !upgrade);
        send(std::move(response), !request.keep_alive() || upgrade);
        return;
    }
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
                                     std::exchange(ip_key_, 0));
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
