#include "net/metrics_listener.hpp"

#include <spdlog/spdlog.h>

#include <memory>

#include "api/router.hpp"
#include "net/http_connection.hpp"
#include "net/worker.hpp"

namespace nudge::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

MetricsListener::MetricsListener(Worker& worker)
    : worker_(worker), acceptor_(worker.io()), retry_timer_(worker.io()) {}

tcp::endpoint MetricsListener::listen(const tcp::endpoint& endpoint) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen();
    // The first accept is started on the worker's thread, like everything else here.
    asio::post(worker_.io(), [this] { accept(); });
    return acceptor_.local_endpoint();
}

void MetricsListener::accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || worker_.context().shutting_down.load()) return;
        if (ec) {
            // EMFILE and friends: back off instead of spinning.
            spdlog::warn("metrics accept failed error=\"{}\"", ec.message());
            retry_timer_.expires_after(std::chrono::milliseconds(100));
            retry_timer_.async_wait([this](boost::system::error_code wait_ec) {
                if (!wait_ec) accept();
            });
            return;
        }
        std::make_shared<HttpConnection>(TcpHttpStream(std::move(socket)), worker_, 0, api::Routes::kMetricsOnly)
            ->start();
        accept();
    });
}

}  // namespace nudge::net
