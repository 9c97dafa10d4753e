#include "connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace nudge::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

// The hub answers with a few dozen bytes; a limit keeps a misdirected URL from filling memory.
constexpr std::uint64_t kMaxAnswerBytes = std::uint64_t{64} * 1024;
constexpr std::string_view kUserAgent = "nudge-emitter-cpp/0.1";

TransportError failed(std::string_view step, beast::error_code ec) {
    return TransportError{step, ec, ec == beast::error::timeout};
}

// A kept-alive connection the hub had already closed: our request never reached it.
bool closed_while_idle(const TransportError& error) {
    if (error.timed_out) return false;
    if (error.step == "send") return true;
    return error.step == "receive" &&
           (error.error == http::error::end_of_stream || error.error == asio::error::eof ||
            error.error == asio::error::connection_reset);
}

}  // namespace

struct Connection::State {
    State(HubUrl url_in, std::chrono::milliseconds timeout_in)
        : url(std::move(url_in)), timeout(timeout_in) {}

    // Runs one asynchronous operation to completion on the private io_context.
    template <class Start>
    beast::error_code run(Start&& start) {
        beast::error_code result;
        io.restart();
        std::forward<Start>(start)([&result](beast::error_code ec, auto&&...) { result = ec; });
        io.run();
        return result;
    }

    tl::expected<void, TransportError> open(Clock::time_point deadline) {
        tcp::resolver::results_type endpoints;
        beast::error_code resolve_error;
        bool timed_out = false;
        asio::steady_timer timer(io, deadline);
        io.restart();
        resolver.async_resolve(url.host, url.port,
                               [&](beast::error_code ec, tcp::resolver::results_type results) {
                                   resolve_error = ec;
                                   endpoints = std::move(results);
                                   timer.cancel();
                               });
        timer.async_wait([&](beast::error_code ec) {
            if (ec) return;  // cancelled: the resolve finished first
            timed_out = true;
            resolver.cancel();
        });
        io.run();
        if (timed_out) return tl::make_unexpected(failed("resolve", beast::error::timeout));
        if (resolve_error) return tl::make_unexpected(failed("resolve", resolve_error));

        stream.emplace(io);
        stream->expires_at(deadline);
        const beast::error_code ec =
            run([&](auto handler) { stream->async_connect(endpoints, std::move(handler)); });
        if (ec) {
            close();
            return tl::make_unexpected(failed("connect", ec));
        }
        // A request is one gathered write; Nagle would hold it back for the delayed ACK.
        beast::error_code ignored;
        stream->socket().set_option(tcp::no_delay(true), ignored);
        // exchange() waits with poll() and must never block in send or recv.
        beast::error_code mode;
        stream->socket().native_non_blocking(true, mode);
        if (mode) {
            close();
            return tl::make_unexpected(failed("connect", mode));
        }
        return {};
    }

    // One request and its answer on the open connection. Written against the socket itself
    // rather than through the io_context: a publish is a sendmsg, a poll and a recv, where
    // the asynchronous operations with their deadline timer cost three more syscalls (epoll
    // twice, the timerfd) and a heap of bookkeeping per request, which nudge-cdc pays for
    // every batch (bench/cdc/RESULTS.md). The deadline is the poll's timeout.
    tl::expected<HubAnswer, TransportError> exchange(std::string_view head, std::string_view body,
                                                     Clock::time_point deadline) {
        const int fd = stream->socket().native_handle();
        if (auto ec = send_all(fd, head, body, deadline)) {
            close();
            return tl::make_unexpected(failed("send", ec));
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxAnswerBytes);
        parser.eager(true);
        if (auto ec = receive(fd, parser, deadline)) {
            close();
            return tl::make_unexpected(failed("receive", ec));
        }
        auto& response = parser.get();
        HubAnswer answer{response.result_int(), std::move(response.body()),
                         std::string(response[http::field::retry_after])};
        if (!response.keep_alive()) close();
        return answer;
    }

    static beast::error_code last_error() { return {errno, boost::system::system_category()}; }

    // Waits until `fd` is ready for `events`; beast::error::timeout past the deadline.
    static beast::error_code ready(int fd, short events, Clock::time_point deadline) {
        for (;;) {
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
            if (left.count() <= 0) return beast::error::timeout;
            pollfd p{fd, events, 0};
            const int n =
                ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), INT_MAX)));
            if (n > 0) return {};
            if (n < 0 && errno != EINTR) return last_error();
        }
    }

    // The head and the body in one gathered write (a partial write continues where it ended).
    static beast::error_code send_all(int fd, std::string_view head, std::string_view body,
                                      Clock::time_point deadline) {
        std::size_t done = 0;
        const std::size_t total = head.size() + body.size();
        while (done < total) {
            iovec parts[2];
            std::size_t count = 0;
            if (done < head.size()) {
                parts[count++] = iovec{const_cast<char*>(head.data() + done), head.size() - done};
            }
            const std::size_t into_body = done < head.size() ? 0 : done - head.size();
            if (into_body < body.size()) {
                parts[count++] =
                    iovec{const_cast<char*>(body.data() + into_body), body.size() - into_body};
            }
            msghdr message{};
            message.msg_iov = parts;
            message.msg_iovlen = count;
            const ssize_t sent = ::sendmsg(fd, &message, MSG_NOSIGNAL);
            if (sent >= 0) {
                done += static_cast<std::size_t>(sent);
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (auto ec = ready(fd, POLLOUT, deadline)) return ec;
            } else if (errno != EINTR) {
                return last_error();
            }
        }
        return {};
    }

    // Reads until `parser` holds a whole answer. Waits before each read: the answer is never
    // there the moment the request left, so a read first would only find nothing.
    beast::error_code receive(int fd, http::response_parser<http::string_body>& parser,
                              Clock::time_point deadline) {
        constexpr std::size_t kReadSize = 4096;
        for (;;) {
            if (buffer.size() > 0) {
                beast::error_code ec;
                buffer.consume(parser.put(buffer.data(), ec));
                if (ec && ec != http::error::need_more) return ec;
                if (parser.is_done()) return {};
            }
            if (auto ec = ready(fd, POLLIN, deadline)) return ec;
            const auto space = buffer.prepare(kReadSize);
            const ssize_t got = ::recv(fd, space.data(), space.size(), 0);
            if (got > 0) {
                buffer.commit(static_cast<std::size_t>(got));
            } else if (got == 0) {
                // As Beast's http::read: the end before the first byte is end_of_stream (a
                // kept-alive connection the hub closed); an answer without a length ends here.
                if (!parser.got_some()) return http::error::end_of_stream;
                beast::error_code ec;
                parser.put_eof(ec);
                return ec;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                return last_error();
            }
        }
    }

    void close() {
        if (stream) {
            beast::error_code ignored;
            stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
            stream.reset();
        }
        buffer.clear();
    }

    HubUrl url;
    std::chrono::milliseconds timeout;
    asio::io_context io{1};
    tcp::resolver resolver{io};
    std::optional<beast::tcp_stream> stream;  // engaged while connected
    beast::flat_buffer buffer;
};

Connection::Connection(HubUrl url, std::chrono::milliseconds timeout)
    : state_(std::make_unique<State>(std::move(url), timeout)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

tl::expected<HubAnswer, TransportError> Connection::post(std::string_view path,
                                                         std::string_view body,
                                                         std::string_view api_key) {
    State& s = *state_;
    const Clock::time_point deadline = Clock::now() + s.timeout;
    // HTTP/1.1 keeps the connection by default: no Connection header.
    std::string head;
    head.reserve(160 + s.url.prefix.size() + path.size() + s.url.authority.size() + api_key.size());
    head.append("POST ").append(s.url.prefix).append(path).append(" HTTP/1.1\r\nHost: ");
    head.append(s.url.authority).append("\r\nUser-Agent: ").append(kUserAgent);
    head.append("\r\nContent-Type: application/json\r\nAuthorization: Bearer ").append(api_key);
    head.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");

    const bool reused = s.stream.has_value();
    if (!reused) {
        if (auto opened = s.open(deadline); !opened) return tl::make_unexpected(opened.error());
    }
    auto answer = s.exchange(head, body, deadline);
    if (!answer && reused && closed_while_idle(answer.error())) {
        if (auto opened = s.open(deadline); !opened) return tl::make_unexpected(opened.error());
        answer = s.exchange(head, body, deadline);
    }
    return answer;
}

}  // namespace nudge::detail
