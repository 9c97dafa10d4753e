#include "net/poller.hpp"

#include <unistd.h>

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>

#include "net/epoll_socket.hpp"

namespace nudge::net {

namespace {

int create_set() {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) {
        throw boost::system::system_error(errno, boost::system::system_category(),
                                          "cannot create an epoll set");
    }
    return fd;
}

}  // namespace

Poller::Poller(boost::asio::io_context& io) : io_(io), set_(io, create_set()) {}

Poller::~Poller() = default;

void Poller::start() {
    stopped_ = false;
    wait();
}

void Poller::stop() {
    stopped_ = true;
    boost::system::error_code ec;
    set_.cancel(ec);
}

boost::system::error_code Poller::add(int fd, EpollSocket& socket) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    event.data.ptr = &socket;
    if (::epoll_ctl(set_.native_handle(), EPOLL_CTL_ADD, fd, &event) != 0) {
        return {errno, boost::system::system_category()};
    }
    return {};
}

void Poller::remove(int fd) noexcept {
    epoll_event unused{};  // ignored, but kernels before 2.6.9 wanted one
    static_cast<void>(::epoll_ctl(set_.native_handle(), EPOLL_CTL_DEL, fd, &unused));
}

void Poller::wait() {
    if (stopped_) return;
    set_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                    [this](boost::system::error_code ec) {
                        if (ec || stopped_) return;
                        dispatch();
                    });
}

void Poller::dispatch() {
    int n = 0;
    do {
        n = ::epoll_wait(set_.native_handle(), events_.data(), kBatch, 0);
    } while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; ++i) {
        const epoll_event& event = events_[static_cast<std::size_t>(i)];
        static_cast<EpollSocket*>(event.data.ptr)->on_events(event.events);
    }
    // A full batch may have left events behind, and the set signals the worker's loop only
    // on a new edge: come back after the other work queued on the loop instead of waiting.
    if (n == kBatch) {
        boost::asio::post(io_, [this] {
            if (!stopped_) dispatch();
        });
    } else {
        wait();
    }
}

}  // namespace nudge::net
