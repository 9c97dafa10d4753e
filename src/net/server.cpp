#include "net/server.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <thread>

#include "net/metrics_listener.hpp"
#include "net/worker.hpp"

namespace nudge::net {

namespace asio = boost::asio;

Server::Server(ServerContext& context, std::size_t threads) : context_(context) {
    if (threads == 0) threads = std::max(1U, std::thread::hardware_concurrency());
    std::vector<hub::Hub::ShardHooks> hooks;
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<Worker>(i, context_));
        Worker* worker = workers_.back().get();
        context_.workers.push_back(worker);
        hooks.push_back(hub::Hub::ShardHooks{
            [worker](hub::Hub::Task task) { worker->post_shard_task(std::move(task)); },
            [worker] { worker->flush_pending(); }});
    }
    hub_ = std::make_unique<hub::Hub>(std::move(hooks), context_.limits.max_pending_batches,
                                      context_.limits.granted_rooms_ttl,
                                      context_.limits.max_granted_rooms,
                                      context_.limits.max_granted_rooms_per_room);
    context_.hub = hub_.get();
}

Server::~Server() = default;

asio::ip::tcp::endpoint Server::listen(const std::string& host, unsigned short port) {
    asio::ip::tcp::endpoint endpoint(asio::ip::make_address(host), port);
    // One listening socket (port 0 resolves here); every other worker accepts on it too.
    endpoint = workers_.front()->listen(endpoint);
    for (std::size_t i = 1; i < workers_.size(); ++i) workers_[i]->share_listener(*workers_.front());
    return endpoint;
}

asio::ip::tcp::endpoint Server::listen_metrics(const std::string& host, unsigned short port) {
    metrics_listener_ = std::make_unique<MetricsListener>(*workers_.front());
    return metrics_listener_->listen({asio::ip::make_address(host), port});
}

boost::asio::io_context& Server::io(std::size_t index) { return workers_.at(index)->io(); }

void Server::run() {
    std::vector<std::thread> threads;
    threads.reserve(workers_.size());
    for (auto& worker : workers_) threads.emplace_back([w = worker.get()] { w->run(); });
    for (auto& t : threads) t.join();
}

void Server::shutdown() {
    if (context_.shutting_down.exchange(true)) return;
    for (auto& worker : workers_) worker->begin_shutdown();
}

}  // namespace nudge::net
