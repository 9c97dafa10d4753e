// EpollSocket: a connected, non-blocking TCP socket on its worker's Poller — the stream
// WsConnection runs over in production (see poller.hpp for why not asio's socket). It offers
// the part of asio's socket interface WsConnection uses: read_some/write_some that never
// block, async_wait for readiness, shutdown and close.
//
// Readiness is edge-triggered: the socket remembers that it is readable (writable) from the
// kernel's edge until a read (write) would block, so a wait started while data is already
// waiting completes at once (posted, never inline), and a reader that stops early (a bounded
// number of reads per wake-up) is woken again.
//
// A wait's handler is stored inline (a lambda capturing a pointer: nothing allocated per
// wait). Closing completes pending waits with operation_aborted, posted, as asio does.
// Owned by one worker thread; movable only before its first wait (the Poller holds its
// address from then on).
#pragma once

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

#include "net/poller.hpp"

namespace nudge::net {

class EpollSocket {
public:
    // asio's names, so WsConnection<Stream> reads the same for every stream.
    enum wait_type { wait_read, wait_write, wait_error };  // NOLINT(readability-identifier-naming)
    enum shutdown_type {                                   // NOLINT(readability-identifier-naming)
        shutdown_receive,
        shutdown_send,
        shutdown_both
    };

    // Takes ownership of the connected descriptor `fd` and makes it non-blocking.
    EpollSocket(Poller& poller, int fd) noexcept;
    EpollSocket(EpollSocket&& other) noexcept;
    EpollSocket& operator=(EpollSocket&&) = delete;
    EpollSocket(const EpollSocket&) = delete;
    EpollSocket& operator=(const EpollSocket&) = delete;
    ~EpollSocket();

    // A gathered write sends at most this many buffers (one sendmsg; IOV_MAX is 1024 on Linux):
    // WsConnection gathers up to 64 frames, each a header and a payload (net/ws_gather.hpp).
    static constexpr std::size_t kMaxBuffers = 128;

    std::size_t read_some(boost::asio::mutable_buffer buffer, boost::system::error_code& ec);
    std::size_t write_some(boost::asio::const_buffer buffer, boost::system::error_code& ec);
    // Past kMaxBuffers the rest is not written (a short write, as the kernel may make anyway).
    std::size_t write_some(std::span<const boost::asio::const_buffer> buffers,
                           boost::system::error_code& ec);
    void shutdown(shutdown_type what, boost::system::error_code& ec);
    void close(boost::system::error_code& ec);
    [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
    [[nodiscard]] int native_handle() const noexcept { return fd_; }

    // `handler(boost::system::error_code)` runs once the socket is ready for `what` (or with
    // an error: the poller failed to register it, or operation_aborted after close). At most
    // one wait per direction may be pending.
    template <class Handler>
    void async_wait(wait_type what, Handler handler) {
        static_assert(std::is_trivially_copyable_v<Handler> && sizeof(Handler) <= kHandlerBytes &&
                          alignof(Handler) <= alignof(void*),
                      "EpollSocket stores a wait's handler inline: capture one pointer");
        Waiter waiter;
        ::new (static_cast<void*>(waiter.storage.data())) Handler(handler);
        waiter.invoke = [](const Storage& storage, const boost::system::error_code& ec) {
            // A copy: the handler may start the next wait, which reuses the slot.
            Handler h = *std::launder(reinterpret_cast<const Handler*>(storage.data()));
            h(ec);
        };
        if (what == wait_write) {
            start_wait(write_waiter_, write_ready_, waiter);
        } else {
            start_wait(read_waiter_, read_ready_, waiter);
        }
    }

    // The Poller's dispatch: the kernel reported `events` (EPOLLIN, EPOLLOUT, ...).
    void on_events(std::uint32_t events);

private:
    static constexpr std::size_t kHandlerBytes = sizeof(void*);
    using Storage = std::array<std::byte, kHandlerBytes>;

    struct Waiter {
        alignas(void*) Storage storage{};
        void (*invoke)(const Storage&, const boost::system::error_code&) = nullptr;
    };

    void start_wait(Waiter& slot, bool ready, const Waiter& waiter);
    // Runs the handler waiting in `slot`, if any, with `ec`.
    static void complete(Waiter& slot, const boost::system::error_code& ec);
    void post(const Waiter& waiter, const boost::system::error_code& ec);
    // The outcome of a recv/send/sendmsg: bytes, or an error (would_block clears `ready`).
    static std::size_t io_result(long result, bool& ready, boost::system::error_code& ec);

    Poller* poller_;
    Waiter read_waiter_;
    Waiter write_waiter_;
    int fd_;
    bool registered_ = false;
    // No would-block seen since the kernel's last edge (unknown, so true, at first).
    bool read_ready_ = true;
    bool write_ready_ = true;
};

}  // namespace nudge::net
