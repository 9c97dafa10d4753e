// Poller: one worker's epoll set for its WebSocket clients' sockets (EpollSocket). The set's
// own descriptor is watched by the worker's io_context, so readiness of any client socket
// wakes the loop once and is dispatched here, in batches, on the worker's thread.
//
// Why not asio's sockets for WebSocket clients: asio's reactor keeps 168 B of state per
// registered descriptor and allocates a ~96 B operation per pending wait, and an idle client
// always has a read wait pending — together about 40% of an idle client's memory. Here a
// socket is registered once (edge-triggered) with a pointer to itself, and a pending wait is
// two words inside the socket. HTTP connections (short-lived) stay on asio/Beast.
//
// Thread: everything here runs on the worker's thread. A socket must be closed (or
// destroyed) before it is freed, which removes it from the set; events already fetched for
// it are dispatched in the same batch, while its owner is still alive (the worker frees
// connections only from its sweep, never during a dispatch).
#pragma once

#include <sys/epoll.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>

namespace nudge::net {

class EpollSocket;

class Poller {
public:
    // Creates the epoll set; throws boost::system::system_error if the kernel refuses (a
    // startup error, like failing to create the io_context).
    explicit Poller(boost::asio::io_context& io);
    Poller(const Poller&) = delete;
    Poller& operator=(const Poller&) = delete;
    ~Poller();

    // Starts watching the set (call once the io_context is about to run).
    void start();
    // Stops watching: no more dispatches (the worker's shutdown).
    void stop();

    // Registers `fd` edge-triggered for input, output, peer half-close and errors; events
    // are handed to `socket`, which must stay at this address while registered.
    [[nodiscard]] boost::system::error_code add(int fd, EpollSocket& socket);
    void remove(int fd) noexcept;

    [[nodiscard]] boost::asio::io_context& io() noexcept { return io_; }

private:
    static constexpr int kBatch = 256;

    void wait();
    void dispatch();

    boost::asio::io_context& io_;
    boost::asio::posix::stream_descriptor set_;
    std::array<epoll_event, kBatch> events_{};
    bool stopped_ = false;
};

}  // namespace nudge::net
