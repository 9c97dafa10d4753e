#include "net/worker.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio/post.hpp>
#include <boost/asio/socket_base.hpp>
#include <sys/socket.h>

#include "metrics/metrics.hpp"
#include "net/http_connection.hpp"
#include "net/ws_connection.hpp"

namespace nudge::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// A quarter of the shortest heartbeat timing, at most 1 s: pings go out at most that late,
// well inside the client's own pingInterval + pingTimeout allowance.
std::chrono::milliseconds sweep_period_for(const session::Config& config) {
    const auto shortest = std::min(config.ping_interval, config.ping_timeout);
    return std::clamp(shortest / 4, std::chrono::milliseconds(10), std::chrono::milliseconds(1000));
}

}  // namespace

Worker::Worker(std::size_t index, ServerContext& context)
    : index_(index), context_(context), sweep_period_(sweep_period_for(context.session.config)) {}

Worker::~Worker() = default;

hub::RoomIndex& Worker::rooms() { return context_.hub->rooms(index_); }

tcp::endpoint Worker::listen(const tcp::endpoint& endpoint) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    const int one = 1;
    if (::setsockopt(acceptor_.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
        throw boost::system::system_error(errno, boost::system::system_category(), "SO_REUSEPORT");
    }
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    return acceptor_.local_endpoint();
}

void Worker::run() {
    metrics::set_thread_slot(index_);
    accept();
    sweep();
    io_.run();
}

void Worker::accept() {
    acceptor_.async_accept(io_, [this](boost::system::error_code ec, tcp::socket socket) {
        if (stopping_) return;
        if (ec) {
            if (ec == asio::error::operation_aborted) return;
            // EMFILE/ENFILE and friends: back off briefly instead of spinning; the
            // connections already served are unaffected.
            spdlog::warn("accept failed worker={} error=\"{}\"", index_, ec.message());
            accept_retry_timer_.expires_after(std::chrono::milliseconds(100));
            accept_retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
                if (!wait_ec && !stopping_) accept();
            });
            return;
        }
        // Small request/response exchanges: without TCP_NODELAY, Nagle plus the peer's
        // delayed ACK adds milliseconds to every keep-alive publish.
        boost::system::error_code option_ec;
        socket.set_option(tcp::no_delay(true), option_ec);
        std::make_shared<HttpConnection>(std::move(socket), *this)->start();
        accept();
    });
}

void Worker::add(std::shared_ptr<WsConnection> connection) {
    connection->registry_index = connections_.size();
    connections_.push_back(std::move(connection));
}

void Worker::remove(WsConnection& connection) {
    const std::size_t i = connection.registry_index;
    if (i >= connections_.size() || connections_[i].get() != &connection) return;
    if (i + 1 != connections_.size()) {
        connections_[i] = std::move(connections_.back());
        connections_[i]->registry_index = i;
    }
    connections_.pop_back();
}

void Worker::flush_pending() {
    // flush() never destroys a connection synchronously (closing defers the release), so
    // the raw pointers stay valid for the whole loop.
    for (WsConnection* connection : flush_list_) connection->flush();
    flush_list_.clear();
}

void Worker::sweep() {
    const auto now = session::Protocol::Clock::now();
    // Backwards: a connection that closes swaps the last one into its slot, already visited.
    for (std::size_t i = connections_.size(); i-- > 0;) {
        if (i < connections_.size()) connections_[i]->tick(now);
    }
    sweep_timer_.expires_after(sweep_period_);
    sweep_timer_.async_wait([this](boost::system::error_code ec) {
        if (!ec && !stopping_) sweep();
    });
}

void Worker::begin_shutdown() {
    asio::post(io_, [this] {
        stopping_ = true;
        boost::system::error_code ignored;
        acceptor_.close(ignored);
        sweep_timer_.cancel();
        accept_retry_timer_.cancel();
        for (std::size_t i = connections_.size(); i-- > 0;) {
            if (i < connections_.size()) connections_[i]->close(session::CloseReason::kServerShutdown);
        }
        // HTTP connections and anything still in flight end with the loop.
        io_.stop();
    });
}

}  // namespace nudge::net
