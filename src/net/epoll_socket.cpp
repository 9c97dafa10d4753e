#include "net/epoll_socket.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <utility>

namespace nudge::net {

static_assert(EpollSocket::kMaxBuffers <= IOV_MAX, "one sendmsg takes at most IOV_MAX buffers");

namespace {

boost::system::error_code errno_code(int error) {
    return {error, boost::system::system_category()};
}

}  // namespace

EpollSocket::EpollSocket(Poller& poller, int fd) noexcept : poller_(&poller), fd_(fd) {
    const int flags = ::fcntl(fd_, F_GETFL, 0);
    if (flags >= 0 && (flags & O_NONBLOCK) == 0) {
        // Cannot fail on a valid descriptor; if it did, the first read would report it.
        static_cast<void>(::fcntl(fd_, F_SETFL, flags | O_NONBLOCK));
    }
}

EpollSocket::EpollSocket(EpollSocket&& other) noexcept
    : poller_(other.poller_),
      read_waiter_(other.read_waiter_),
      write_waiter_(other.write_waiter_),
      fd_(std::exchange(other.fd_, -1)),
      registered_(other.registered_),
      read_ready_(other.read_ready_),
      write_ready_(other.write_ready_) {
    // The poller holds a registered socket's address: moving one would leave it dangling.
    if (registered_) std::abort();
}

EpollSocket::~EpollSocket() {
    if (fd_ < 0) return;
    if (registered_) poller_->remove(fd_);
    ::close(fd_);
}

std::size_t EpollSocket::io_result(long result, bool& ready, boost::system::error_code& ec) {
    if (result >= 0) {
        ec.clear();
        return static_cast<std::size_t>(result);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        ready = false;
        ec = boost::asio::error::would_block;
    } else {
        ec = errno_code(errno);
    }
    return 0;
}

std::size_t EpollSocket::read_some(boost::asio::mutable_buffer buffer,
                                   boost::system::error_code& ec) {
    if (fd_ < 0) {
        ec = boost::asio::error::bad_descriptor;
        return 0;
    }
    long n = 0;
    do {
        n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0 && buffer.size() > 0) {
        ec = boost::asio::error::eof;
        return 0;
    }
    return io_result(n, read_ready_, ec);
}

std::size_t EpollSocket::write_some(boost::asio::const_buffer buffer,
                                    boost::system::error_code& ec) {
    if (fd_ < 0) {
        ec = boost::asio::error::bad_descriptor;
        return 0;
    }
    long n = 0;
    do {
        n = ::send(fd_, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return io_result(n, write_ready_, ec);
}

std::size_t EpollSocket::write_some(std::span<const boost::asio::const_buffer> buffers,
                                    boost::system::error_code& ec) {
    if (fd_ < 0) {
        ec = boost::asio::error::bad_descriptor;
        return 0;
    }
    // Not zeroed: only the first `count` entries are filled and handed to the kernel.
    std::array<iovec, kMaxBuffers> iov;
    std::size_t count = 0;
    for (const boost::asio::const_buffer& b : buffers) {
        if (count == iov.size()) break;
        // sendmsg's iovec is not const-qualified; the kernel only reads from it.
        iov[count++] = iovec{const_cast<void*>(b.data()),
                             b.size()};  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    }
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = count;
    long n = 0;
    do {
        n = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return io_result(n, write_ready_, ec);
}

void EpollSocket::shutdown(shutdown_type what, boost::system::error_code& ec) {
    const int how = what == shutdown_receive ? SHUT_RD
                    : what == shutdown_send  ? SHUT_WR
                                             : SHUT_RDWR;
    if (fd_ < 0) {
        ec = boost::asio::error::bad_descriptor;
    } else if (::shutdown(fd_, how) != 0) {
        ec = errno_code(errno);
    } else {
        ec.clear();
    }
}

void EpollSocket::close(boost::system::error_code& ec) {
    ec.clear();
    if (fd_ < 0) return;
    if (registered_) poller_->remove(fd_);
    registered_ = false;
    if (::close(std::exchange(fd_, -1)) != 0 && errno != EINTR) ec = errno_code(errno);
    const boost::system::error_code aborted = boost::asio::error::operation_aborted;
    for (Waiter* slot : {&read_waiter_, &write_waiter_}) {
        if (slot->invoke == nullptr) continue;
        post(*slot, aborted);
        slot->invoke = nullptr;
    }
}

void EpollSocket::start_wait(Waiter& slot, bool ready, const Waiter& waiter) {
    if (fd_ < 0) {
        post(waiter, boost::asio::error::bad_descriptor);
        return;
    }
    if (!registered_) {
        if (const boost::system::error_code ec = poller_->add(fd_, *this)) {
            post(waiter, ec);
            return;
        }
        registered_ = true;
    }
    // Ready already (no would-block since the last edge): there will be no new edge to wait
    // for, so complete now — posted, so the caller's stack unwinds first.
    if (ready) {
        post(waiter, {});
        return;
    }
    slot = waiter;
}

void EpollSocket::complete(Waiter& slot, const boost::system::error_code& ec) {
    if (slot.invoke == nullptr) return;
    const Waiter waiter = slot;
    slot.invoke = nullptr;
    waiter.invoke(waiter.storage, ec);
}

void EpollSocket::post(const Waiter& waiter, const boost::system::error_code& ec) {
    boost::asio::post(poller_->io(), [waiter, ec] { waiter.invoke(waiter.storage, ec); });
}

void EpollSocket::on_events(std::uint32_t events) {
    // Errors and hang-ups wake both directions: the next read or write reports them.
    constexpr std::uint32_t kAny = EPOLLERR | EPOLLHUP;
    if ((events & (EPOLLIN | EPOLLRDHUP | kAny)) != 0) {
        read_ready_ = true;
        complete(read_waiter_, {});
    }
    // The read handler may have closed the socket (a protocol error): nothing more to wake.
    if (fd_ >= 0 && (events & (EPOLLOUT | kAny)) != 0) {
        write_ready_ = true;
        complete(write_waiter_, {});
    }
}

}  // namespace nudge::net
