// Server: the worker threads (one per core by default), the hub whose shards they own, and
// start/stop. listen() binds every worker's acceptor to one address and port (port 0 picks a
// free one, shared by all workers); run() blocks until shutdown() has stopped every worker.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hub/hub.hpp"
#include "net/server_context.hpp"

namespace nudge::net {

class MetricsListener;
class Worker;

class Server {
public:
    Server(ServerContext& context, std::size_t threads);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    [[nodiscard]] hub::Hub& hub() noexcept { return *hub_; }
    // The event loop of worker `index` (the Redis broker's links run on worker 0's).
    [[nodiscard]] boost::asio::io_context& io(std::size_t index);
    boost::asio::ip::tcp::endpoint listen(const std::string& host, unsigned short port);
    // The optional metrics-only listener (MetricsListener), on the first worker.
    boost::asio::ip::tcp::endpoint listen_metrics(const std::string& host, unsigned short port);
    void run();
    // Thread-safe, idempotent.
    void shutdown();

private:
    ServerContext& context_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::unique_ptr<hub::Hub> hub_;
    std::unique_ptr<MetricsListener> metrics_listener_;  // destroyed before the workers
};

}  // namespace nudge::net
