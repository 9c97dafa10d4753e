#include "connection.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
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

using Request = http::request<http::string_body>;

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
        return {};
    }

    tl::expected<HubAnswer, TransportError> exchange(Request& request, Clock::time_point deadline) {
        stream->expires_at(deadline);
        beast::error_code ec =
            run([&](auto handler) { http::async_write(*stream, request, std::move(handler)); });
        if (ec) {
            close();
            return tl::make_unexpected(failed("send", ec));
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxAnswerBytes);
        ec = run(
            [&](auto handler) { http::async_read(*stream, buffer, parser, std::move(handler)); });
        if (ec) {
            close();
            return tl::make_unexpected(failed("receive", ec));
        }
        auto& response = parser.get();
        HubAnswer answer{response.result_int(), std::move(response.body()),
                         std::string(response[http::field::retry_after])};
        if (!response.keep_alive()) close();
        return answer;
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
    Request request{http::verb::post, s.url.target(path), 11};
    request.set(http::field::host, s.url.authority);
    request.set(http::field::user_agent, kUserAgent);
    request.set(http::field::content_type, "application/json");
    request.set(http::field::authorization, "Bearer " + std::string(api_key));
    request.keep_alive(true);
    request.body() = std::string(body);
    request.prepare_payload();

    const bool reused = s.stream.has_value();
    if (!reused) {
        if (auto opened = s.open(deadline); !opened) return tl::make_unexpected(opened.error());
    }
    auto answer = s.exchange(request, deadline);
    if (!answer && reused && closed_while_idle(answer.error())) {
        if (auto opened = s.open(deadline); !opened) return tl::make_unexpected(opened.error());
        answer = s.exchange(request, deadline);
    }
    return answer;
}

}  // namespace nudge::detail
