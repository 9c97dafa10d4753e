// TcpHttpStream: the stream an HttpConnection reads and writes in production — Beast's
// tcp_stream (asio socket with an idle deadline) plus the few things HttpConnection does with
// the socket itself: its peer's address, a half-close, moving it to another worker, and
// handing its descriptor to a WebSocket. A test stream with the same members
// (tests/unit/net/http_test_stream.hpp) runs BasicHttpConnection in memory, failing its n-th
// read or write (the failure seam of the HTTP and long-polling paths).
//
// Used on its worker's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace nudge::net {

class PollingSession;
class Worker;

class TcpHttpStream : public boost::beast::tcp_stream {
public:
    explicit TcpHttpStream(boost::asio::ip::tcp::socket socket)
        : boost::beast::tcp_stream(std::move(socket)) {}

    // The peer's address (unspecified when the socket has none, e.g. already reset).
    [[nodiscard]] boost::asio::ip::address address() const;
    // Half-close: nothing more is sent; reading goes on.
    void shutdown_send();

    // Moves the socket to `target` (another worker's io_context): `on_arrival` runs there with
    // the stream, or with nullopt when the socket could not be moved (it is closed then).
    template <class OnArrival>
    void move_to(boost::asio::io_context& target, OnArrival on_arrival) {
        expires_never();
        boost::asio::ip::tcp::socket socket = release_socket();
        boost::system::error_code ec;
        const auto protocol = socket.local_endpoint(ec).protocol();
        const int fd = ec ? -1 : socket.release(ec);
        if (ec) {
            boost::asio::post(target, [on_arrival = std::move(on_arrival)]() mutable {
                on_arrival(std::optional<TcpHttpStream>{});
            });
            return;
        }
        boost::asio::post(target, [&target, fd, protocol, on_arrival = std::move(on_arrival)]() mutable {
            on_arrival(adopt(target, protocol, fd));
        });
    }

    // The upgrade is accepted: the descriptor leaves asio for the worker's epoll set (see
    // poller.hpp: far less memory per idle client) as a WsConnection, with `early` (what the
    // client sent behind its request). False when the descriptor could not be taken (the
    // caller still owns `ip_key` then).
    [[nodiscard]] bool start_websocket(Worker& worker, std::string_view accept, std::string_view early,
                                       std::uint32_t ip_key, PollingSession* upgrade_from);

private:
    // The descriptor `fd`, released on another thread, as a stream of `target` (closed and
    // nullopt when asio refuses it).
    static std::optional<TcpHttpStream> adopt(boost::asio::io_context& target,
                                              boost::asio::ip::tcp protocol, int fd);
};

}  // namespace nudge::net
