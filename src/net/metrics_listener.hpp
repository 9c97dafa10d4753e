// MetricsListener: an optional second listening socket (--metrics-host/--metrics-port) that
// serves only /metrics and /healthz, so the public listener need not expose the metrics.
//
// It runs on one worker's io_context (the first), and hands each accepted connection to an
// HttpConnection restricted to the metrics routes (api::Routes::kMetricsOnly). Owned by the
// Server; everything but the constructor and listen() runs on that worker's thread. Its
// accept loop ends when the worker's loop stops.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

namespace nudge::net {

class Worker;

class MetricsListener {
public:
    explicit MetricsListener(Worker& worker);

    // Binds and starts accepting (port 0: any free port); returns the bound endpoint.
    // Throws boost::system::system_error when the address cannot be bound.
    boost::asio::ip::tcp::endpoint listen(const boost::asio::ip::tcp::endpoint& endpoint);

private:
    void accept();

    Worker& worker_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::steady_timer retry_timer_;
};

}  // namespace nudge::net
