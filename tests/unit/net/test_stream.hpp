// TestStream: an in-memory stand-in for the worker's TCP socket, so WsConnection runs
// deterministically in tests and the fuzzer (Boost.Beast's test::stream and fail_count are
// the model). The test scripts what the client sends, how much the "kernel" takes before a
// write would block (a stall), and which read or write fails; it reads back what the
// connection wrote. Waits complete through the same io_context the worker runs.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>

namespace nudge::net::test {

struct StreamState {
    explicit StreamState(boost::asio::io_context& io_in) : io(&io_in) {}

    boost::asio::io_context* io;  // where waits complete (changes when the stream moves worker)
    std::string inbound;         // sent by the client, not read yet
    bool peer_closed = false;    // EOF once inbound is drained
    std::string written;         // everything the connection wrote
    std::size_t write_capacity = std::numeric_limits<std::size_t>::max();  // before would_block
    std::size_t fail_read_at = 0;   // the n-th read_some fails (1-based); 0: never
    std::size_t fail_write_at = 0;  // the n-th write_some fails; 0: never
    std::size_t reads = 0;
    std::size_t writes = 0;
    bool shut_down = false;
    bool closed = false;
    std::function<void(boost::system::error_code)> read_waiter;
    std::function<void(boost::system::error_code)> write_waiter;

    // Completes the waits whose condition now holds (call after changing the state).
    void notify() {
        if (read_waiter && (!inbound.empty() || peer_closed)) post(read_waiter, {});
        if (write_waiter && write_capacity > 0) post(write_waiter, {});
    }
    void send(std::string_view bytes) {
        inbound.append(bytes);
        notify();
    }
    void set_write_capacity(std::size_t bytes) {
        write_capacity = bytes;
        notify();
    }

    void post(std::function<void(boost::system::error_code)>& waiter, boost::system::error_code ec) {
        boost::asio::post(*io, [w = std::move(waiter), ec] { w(ec); });
        waiter = nullptr;
    }
};

class TestStream {
public:
    // asio's names, so WsConnection<Stream> reads the same for both.
    enum wait_type { wait_read, wait_write, wait_error };
    enum shutdown_type { shutdown_receive, shutdown_send, shutdown_both };

    explicit TestStream(std::shared_ptr<StreamState> state) : state_(std::move(state)) {}

    std::size_t read_some(boost::asio::mutable_buffer buffer, boost::system::error_code& ec) {
        StreamState& s = *state_;
        if (s.closed) {
            ec = boost::asio::error::bad_descriptor;
            return 0;
        }
        if (++s.reads == s.fail_read_at) {
            ec = boost::asio::error::connection_reset;
            return 0;
        }
        if (s.inbound.empty()) {
            ec = s.peer_closed ? boost::asio::error::make_error_code(boost::asio::error::eof)
                               : boost::asio::error::would_block;
            return 0;
        }
        const std::size_t n = std::min(buffer.size(), s.inbound.size());
        s.inbound.copy(static_cast<char*>(buffer.data()), n);
        s.inbound.erase(0, n);
        ec = {};
        return n;
    }

    template <class Buffers>
    std::size_t write_some(const Buffers& buffers, boost::system::error_code& ec) {
        StreamState& s = *state_;
        if (s.closed || s.shut_down) {
            ec = boost::asio::error::broken_pipe;
            return 0;
        }
        if (++s.writes == s.fail_write_at) {
            ec = boost::asio::error::connection_reset;
            return 0;
        }
        if (s.write_capacity == 0) {
            ec = boost::asio::error::would_block;
            return 0;
        }
        std::size_t written = 0;
        for (auto it = boost::asio::buffer_sequence_begin(buffers);
             it != boost::asio::buffer_sequence_end(buffers) && s.write_capacity > 0; ++it) {
            const boost::asio::const_buffer b(*it);
            const std::size_t n = std::min(b.size(), s.write_capacity);
            s.written.append(static_cast<const char*>(b.data()), n);
            written += n;
            if (s.write_capacity != std::numeric_limits<std::size_t>::max()) s.write_capacity -= n;
        }
        ec = {};
        return written;
    }

    template <class Handler>
    void async_wait(wait_type type, Handler&& handler) {
        StreamState& s = *state_;
        auto& slot = type == wait_read ? s.read_waiter : s.write_waiter;
        slot = [h = std::forward<Handler>(handler)](boost::system::error_code ec) mutable { h(ec); };
        if (s.closed) {
            s.post(slot, boost::asio::error::operation_aborted);
            return;
        }
        s.notify();
    }

    void shutdown(shutdown_type /*type*/, boost::system::error_code& ec) {
        state_->shut_down = true;
        ec = {};
    }

    void close(boost::system::error_code& ec) {
        StreamState& s = *state_;
        s.closed = true;
        // asio completes pending waits with operation_aborted when a socket closes.
        if (s.read_waiter) s.post(s.read_waiter, boost::asio::error::operation_aborted);
        if (s.write_waiter) s.post(s.write_waiter, boost::asio::error::operation_aborted);
        ec = {};
    }

private:
    std::shared_ptr<StreamState> state_;
};

// One frame the server wrote (servers never mask).
struct ServerFrame {
    std::uint8_t opcode;
    bool fin;
    std::string payload;
};

// Splits `bytes` (after the HTTP 101 head) into complete frames; `rest` gets the bytes of an
// incomplete final frame.
inline std::vector<ServerFrame> server_frames(std::string_view bytes, std::string* rest = nullptr) {
    std::vector<ServerFrame> frames;
    if (bytes.starts_with("HTTP/1.1")) {
        const auto end = bytes.find("\r\n\r\n");
        bytes.remove_prefix(end == std::string_view::npos ? bytes.size() : end + 4);
    }
    while (bytes.size() >= 2) {
        const auto b0 = static_cast<std::uint8_t>(bytes[0]);
        const auto len7 = static_cast<std::uint8_t>(bytes[1]) & 0x7Fu;
        std::size_t header = 2;
        std::uint64_t length = len7;
        if (len7 == 126) header = 4;
        if (len7 == 127) header = 10;
        if (bytes.size() < header) break;
        if (header > 2) {
            length = 0;
            for (std::size_t i = 2; i < header; ++i) length = (length << 8) | static_cast<std::uint8_t>(bytes[i]);
        }
        if (bytes.size() < header + length) break;
        frames.push_back(ServerFrame{static_cast<std::uint8_t>(b0 & 0x0F), (b0 & 0x80) != 0,
                                     std::string(bytes.substr(header, length))});
        bytes.remove_prefix(header + length);
    }
    if (rest != nullptr) *rest = std::string(bytes);
    return frames;
}

}  // namespace nudge::net::test
