// Worker: one thread's event loop. It owns an io_context, an acceptor on the shared port
// (SO_REUSEPORT: the kernel spreads new connections over the workers), the WebSocket
// connections accepted there, its shard of the room index (through the hub), the shared read
// buffer, the list of connections to flush after a fan-out batch, and the 1 s sweep that
// drives every connection's heartbeat (every second, sooner for short ping settings). Nothing here is locked: other threads only post().
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <memory>
#include <vector>

#include "hub/room_index.hpp"
#include "net/server_context.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

class WsConnection;

class Worker {
public:
    Worker(std::size_t index, ServerContext& context);
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    ~Worker();

    // Opens this worker's acceptor (SO_REUSEPORT) on `endpoint`; returns the bound endpoint.
    boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& endpoint);
    // The thread body: accept, serve, sweep, until stop.
    void run();
    // From any thread: stop accepting, close every client with an Engine.IO close (so it
    // reconnects elsewhere), then let the loop end.
    void begin_shutdown();

    [[nodiscard]] boost::asio::io_context& io() noexcept { return io_; }
    [[nodiscard]] std::size_t index() const noexcept { return index_; }
    [[nodiscard]] ServerContext& context() noexcept { return context_; }
    [[nodiscard]] hub::RoomIndex& rooms();
    [[nodiscard]] std::array<char, std::size_t{64} * 1024>& read_buffer() noexcept { return read_buffer_; }

    void add(std::shared_ptr<WsConnection> connection);
    void remove(WsConnection& connection);
    void schedule_flush(WsConnection* connection) { flush_list_.push_back(connection); }
    void flush_pending();
    [[nodiscard]] session::Effects& effects() noexcept { return effects_; }

private:
    void accept();
    void sweep();

    std::size_t index_;
    ServerContext& context_;
    std::chrono::milliseconds sweep_period_;
    boost::asio::io_context io_{1};
    boost::asio::ip::tcp::acceptor acceptor_{io_};
    boost::asio::steady_timer sweep_timer_{io_};
    boost::asio::steady_timer accept_retry_timer_{io_};
    std::vector<std::shared_ptr<WsConnection>> connections_;
    std::vector<WsConnection*> flush_list_;
    session::Effects effects_;  // scratch, reused for every protocol input on this thread
    std::array<char, std::size_t{64} * 1024> read_buffer_{};
    bool stopping_ = false;
};

}  // namespace nudge::net
