// HttpTestStream: BasicHttpConnection's stream in the unit tests — the asio-style asynchronous
// reads and writes Beast's HTTP parser and writer need, over the same scripted StreamState as
// TestStream (test_stream.hpp), so one state follows a client from its first HTTP request
// through a move to another worker and an upgrade to WebSocket, and `fail_read_at` /
// `fail_write_at` count every operation on the way (Beast's test::stream and fail_count are
// the model). It offers what TcpHttpStream offers (see net/tcp_http_stream.hpp).
//
// When the connection that owns it is freed, the state is marked closed: a test that ends
// with `state->closed` knows the connection did not leak.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "net/worker.hpp"
#include "net/ws_connection_impl.hpp"
#include "test_stream.hpp"

namespace nudge::net::test {

class HttpTestStream {
public:
    using executor_type = boost::asio::io_context::executor_type;

    explicit HttpTestStream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}
    HttpTestStream(HttpTestStream&&) noexcept = default;
    HttpTestStream& operator=(HttpTestStream&&) noexcept = default;
    HttpTestStream(const HttpTestStream&) = delete;
    HttpTestStream& operator=(const HttpTestStream&) = delete;
    ~HttpTestStream() {
        // As a socket closes with its owner.
        if (state_) {
            boost::system::error_code ignored;
            TestStream(state_).close(ignored);
        }
    }

    executor_type get_executor() const noexcept { return state_->io->get_executor(); }

    template <class Buffers, class Token>
    auto async_read_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [state = state_](auto handler, const Buffers& b) {
                arm_read(state, b, std::make_shared<decltype(handler)>(std::move(handler)));
            },
            token, buffers);
    }

    // As asio's socket does, the bytes go out when the write starts if the stream can take
    // them (a speculative write), and only the completion is posted: a peer may see them
    // before the handler that started the write has returned.
    template <class Buffers, class Token>
    auto async_write_some(const Buffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
            [state = state_](auto handler, const Buffers& b) {
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                if (!state->closed && state->write_capacity > 0) {
                    boost::system::error_code ec;
                    const std::size_t n = TestStream(state).write_some(b, ec);
                    if (ec != boost::asio::error::would_block) {
                        boost::asio::post(*state->io, [shared, ec, n] { std::move (*shared)(ec, n); });
                        return;
                    }
                }
                arm_write(state, b, std::move(shared));
            },
            token, buffers);
    }

    // The idle deadline is not simulated: a test ends a conversation by closing its side.
    template <class Duration>
    void expires_after(Duration /*d*/) noexcept {}
    void expires_never() noexcept {}
    void cancel() {
        StreamState& s = *state_;
        if (s.read_waiter) s.post(s.read_waiter, boost::asio::error::operation_aborted);
        if (s.write_waiter) s.post(s.write_waiter, boost::asio::error::operation_aborted);
    }

    [[nodiscard]] boost::asio::ip::address address() const {
        return boost::asio::ip::make_address("127.0.0.1");
    }
    void shutdown_send() { state_->shut_down = true; }

    template <class OnArrival>
    void move_to(boost::asio::io_context& target, OnArrival on_arrival) {
        state_->io = &target;
        boost::asio::post(target, [state = std::move(state_), on_arrival = std::move(on_arrival)]() mutable {
            on_arrival(std::optional<HttpTestStream>(HttpTestStream(std::move(state))));
        });
    }

    [[nodiscard]] bool start_websocket(Worker& worker, std::string_view accept, std::string_view early,
                                       std::uint32_t ip_key, PollingSession* upgrade_from) {
        WsConnection<TestStream>::start(TestStream(std::move(state_)), worker, accept, early, ip_key,
                                        upgrade_from);
        return true;
    }

private:
    static std::shared_ptr<StreamState> unowned(StreamState* s) {
        return std::shared_ptr<StreamState>(std::shared_ptr<StreamState>{}, s);
    }

    template <class Buffers>
    static boost::asio::mutable_buffer first_buffer(const Buffers& buffers) {
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers); ++it) {
            const boost::asio::mutable_buffer b(*it);
            if (b.size() != 0) return b;
        }
        return {};
    }

    // The wait completes through the io_context once data (or EOF) is there; a read that
    // would block waits again.
    template <class Buffers, class Handler>
    static void arm_read(const std::shared_ptr<StreamState>& state, Buffers buffers,
                         std::shared_ptr<Handler> handler) {
        // The waiter holds the state by plain pointer (the state holds the waiter); the handler
        // keeps the connection, and with it the state, alive until it runs.
        state->read_waiter = [s = state.get(), buffers, handler](boost::system::error_code ec) {
            if (ec) {
                std::move (*handler)(ec, 0);
                return;
            }
            const std::size_t n = TestStream(unowned(s)).read_some(first_buffer(buffers), ec);
            if (ec == boost::asio::error::would_block) {
                arm_read(unowned(s), buffers, handler);
                return;
            }
            std::move (*handler)(ec, n);
        };
        if (state->closed) {
            state->post(state->read_waiter, boost::asio::error::operation_aborted);
            return;
        }
        state->notify();
    }

    template <class Buffers, class Handler>
    static void arm_write(const std::shared_ptr<StreamState>& state, Buffers buffers,
                          std::shared_ptr<Handler> handler) {
        state->write_waiter = [s = state.get(), buffers, handler](boost::system::error_code ec) {
            if (ec) {
                std::move (*handler)(ec, 0);
                return;
            }
            const std::size_t n = TestStream(unowned(s)).write_some(buffers, ec);
            if (ec == boost::asio::error::would_block) {
                arm_write(unowned(s), buffers, handler);
                return;
            }
            std::move (*handler)(ec, n);
        };
        if (state->closed) {
            state->post(state->write_waiter, boost::asio::error::operation_aborted);
            return;
        }
        state->notify();
    }

    std::shared_ptr<StreamState> state_;
};

}  // namespace nudge::net::test
