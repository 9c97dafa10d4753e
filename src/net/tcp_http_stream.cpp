#include "net/tcp_http_stream.hpp"

#include <unistd.h>

#include "net/epoll_socket.hpp"
#include "net/worker.hpp"
#include "net/ws_connection.hpp"

namespace nudge::net {

boost::asio::ip::address TcpHttpStream::address() const {
    boost::system::error_code ec;
    const auto endpoint = socket().remote_endpoint(ec);
    return ec ? boost::asio::ip::address{} : endpoint.address();
}

void TcpHttpStream::shutdown_send() {
    boost::system::error_code ignored;
    socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
}

std::optional<TcpHttpStream> TcpHttpStream::adopt(boost::asio::io_context& target,
                                                  boost::asio::ip::tcp protocol, int fd) {
    boost::asio::ip::tcp::socket moved(target);
    boost::system::error_code ec;
    moved.assign(protocol, fd, ec);
    if (ec) {
        ::close(fd);
        return std::nullopt;
    }
    return TcpHttpStream(std::move(moved));
}

bool TcpHttpStream::start_websocket(Worker& worker, std::string_view accept, std::string_view early,
                                    std::uint32_t ip_key, PollingSession* upgrade_from) {
    expires_never();
    boost::asio::ip::tcp::socket released = release_socket();
    boost::system::error_code ec;
    const int fd = released.release(ec);
    if (ec) return false;
    WsConnection<EpollSocket>::start(EpollSocket(worker.poller(), fd), worker, accept, early, ip_key,
                                     upgrade_from);
    return true;
}

}  // namespace nudge::net
