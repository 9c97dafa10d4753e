// BasicHttpConnection's HTTP/1.1 reading and writing (see http_connection.hpp); its Engine.IO
// part is in http_engine_io_impl.hpp. Included by the .cpp that instantiates it (and tests).
#pragma once

#include <spdlog/spdlog.h>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>

#include "api/router.hpp"
#include "eio/packet.hpp"
#include "metrics/metrics.hpp"
#include "net/http_connection.hpp"
#include "net/http_target.hpp"
#include "net/polling_session.hpp"
#include "net/worker.hpp"

#include <boost/asio/post.hpp>
#include <algorithm>
#include <charconv>
#include <system_error>
#include <utility>

namespace nudge::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace detail {

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

}  // namespace detail

template <class Stream>
BasicHttpConnection<Stream>::BasicHttpConnection(Stream stream, Worker& worker,
                                                 std::uint32_t ip_key, api::Routes routes)
    : stream_(std::move(stream)),
      worker_(worker),
      routes_(routes),
      address_(stream_.address()),
      remote_(address_.is_unspecified() ? std::string("unknown") : address_.to_string()),
      ip_key_(ip_key) {}

template <class Stream>
BasicHttpConnection<Stream>::~BasicHttpConnection() {
    release_hold();
    worker_.context().admission.release(ip_key_);
}

template <class Stream>
void BasicHttpConnection<Stream>::start() { read_request(); }

template <class Stream>
void BasicHttpConnection<Stream>::read_request() {
    const auto& context = worker_.context();
    parser_ = std::make_unique<Parser>();
    parser_->header_limit(static_cast<std::uint32_t>(context.limits.max_header_bytes));
    parser_->body_limit(context.router->config().max_body);
    stream_.expires_after(context.limits.http_idle_timeout);
    // The header first: the framing, the session and the body limit are decided before a
    // body byte is read.
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) {
                                    self->on_read_error(ec);
                                    return;
                                }
                                self->on_header(false);
                            });
}

template <class Stream>
void BasicHttpConnection<Stream>::on_header(bool migrated) {
    if (const auto problem = detail::framing_problem(parser_->get()); !problem.empty()) {
        send(error(400, "bad_framing", std::string(problem)), true);
        return;
    }
    const std::string_view target = parser_->get().target();
    if (path_of(target) == kEngineIoPath) {
        // Engine.IO's maxHttpBufferSize: a POST is one payload. Before its CONNECT is accepted
        // a polling session may send no more than a WebSocket client may.
        const auto& context = worker_.context();
        std::uint64_t limit = context.session.config.max_payload;
        const auto sid = eio::query_param(query_of(target), "sid");
        if (sid && routes_ == api::Routes::kAll) {
            PollingSession* session = worker_.polling_session(*sid);
            if (session == nullptr && !route_elsewhere(*sid, migrated)) return;
            if (session != nullptr && !session->protocol().connected()) {
                limit = std::min<std::uint64_t>(limit, context.limits.max_unauthenticated_message);
            }
        }
        // Beast checks a Content-Length against the limit only while parsing the header. The
        // field is read as text (Beast has validated it): parser::content_length()'s
        // boost::optional trips GCC 12's -Wmaybe-uninitialized in the sanitizer build.
        parser_->body_limit(limit);
        const std::string_view length = parser_->get()[http::field::content_length];
        std::uint64_t bytes = 0;
        if (!length.empty() &&
            std::from_chars(length.data(), length.data() + length.size(), bytes).ec == std::errc{} &&
            bytes > limit) {
            on_read_error(http::error::body_limit);
            return;
        }
    }
    read_body();
}

template <class Stream>
void BasicHttpConnection<Stream>::read_body() {
    // The body usually came in the same read as the header (and a GET has none): parse what
    // is buffered now, so such a request is handled in this turn of the loop. http::async_read
    // would find it complete too, but must post its completion: one more turn per request.
    while (!parser_->is_done() && buffer_.size() > 0) {
        beast::error_code ec;
        const std::size_t used = parser_->put(buffer_.data(), ec);
        buffer_.consume(used);
        if (ec == http::error::need_more) break;
        if (ec) {
            on_read_error(ec);
            return;
        }
        if (used == 0) break;
    }
    if (parser_->is_done()) {
        on_request();
        return;
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) {
                             self->on_read_error(ec);
                             return;
                         }
                         self->on_request();
                     });
}

template <class Stream>
void BasicHttpConnection<Stream>::on_read_error(beast::error_code ec) {
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

template <class Stream>
typename BasicHttpConnection<Stream>::Response BasicHttpConnection<Stream>::make_response(unsigned status, std::string body,
                                                       std::string_view content_type) const {
    Response response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "nudged");
    response.set(http::field::content_type, content_type);
    response.body() = std::move(body);
    response.prepare_payload();
    return response;
}

template <class Stream>
typename BasicHttpConnection<Stream>::Response BasicHttpConnection<Stream>::error(unsigned status, std::string code,
                                               std::string message) const {
    api::Response r = api::error_response(status, std::move(code), std::move(message));
    return make_response(r.status, std::move(r.body), r.content_type);
}

template <class Stream>
void BasicHttpConnection<Stream>::on_request() {
    Request& request = parser_->get();
    const std::string_view target = request.target();
    if (routes_ == api::Routes::kAll && path_of(target) == kEngineIoPath) {
        handle_engine_io(request);
        if (poll_owner_ != nullptr) parser_.reset();  // a held GET keeps no parser
        return;
    }
    const api::Request api_request{request.method_string(), target,
                                   request[http::field::authorization], request.body(), remote_,
                                   routes_};
    // An answer written inline must not overtake work its request left for this worker: a
    // publish (or a join) posts its part to each target shard, and the one of this worker waits
    // in asio's thread-private queue until this handler returns, while a shard task posted from
    // another thread goes straight into the shared queue. Answered inline then, a client could
    // see the 202 and publish again through another worker, and that second event would reach
    // this worker's sockets first. So the answer is posted behind that work when the request
    // left some here (Worker::own_shard_posts), or when it comes later (a Redis broker answers
    // from its own thread); it is written inline only when it comes during this handler with
    // nothing left behind (the event's recipients on other workers: one turn of the loop less).
    // The connection reads no further request meanwhile.
    const std::uint64_t posts_before = worker_.own_shard_posts();
    routing_ = true;
    worker_.context().router->handle(
        api_request, [self = this->shared_from_this(), posts_before,
                      method = std::string(request.method_string()), path = std::string(path_of(target)),
                      head = request.method() == http::verb::head,
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
            // (routing_ and the count are this worker's: read on its thread only.)
            if (self->worker_.io().get_executor().running_in_this_thread() && self->routing_ &&
                self->worker_.own_shard_posts() == posts_before) {
                answer();
            } else {
                asio::post(self->worker_.io(), std::move(answer));
            }
        });
    routing_ = false;
}

template <class Stream>
void BasicHttpConnection<Stream>::linger() {
    // Half-close, then read and discard until the client closes (or the deadline passes):
    // closing with unread input would send an RST that can destroy the answer we just
    // wrote, e.g. a 413 while the client is still sending its body.
    stream_.shutdown_send();
    stream_.expires_after(std::chrono::seconds(5));
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                if (!ec) self->linger_read();
                            });
}

template <class Stream>
void BasicHttpConnection<Stream>::linger_read() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                                if (!ec) self->linger_read();
                            });
}

template <class Stream>
void BasicHttpConnection<Stream>::send(Response response, bool close_after) {
    metrics::registry().api_requests[metrics::api_status(response.result_int())].add(1);
    if (close_after) response.keep_alive(false);  // says "Connection: close"
    auto shared = std::make_shared<Response>(std::move(response));
    stream_.expires_after(worker_.context().limits.http_idle_timeout);
    http::async_write(stream_, *shared,
                      [self = this->shared_from_this(), shared, close_after](beast::error_code ec,
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
