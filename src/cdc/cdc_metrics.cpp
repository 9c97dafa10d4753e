#include "cdc/cdc_metrics.hpp"

#include <fmt/format.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <iterator>
#include <thread>

namespace nudge::cdc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string CdcMetrics::render() const {
    std::string out;
    auto metric = [&out](std::string_view name, std::string_view type, std::string_view help,
                         std::uint64_t value) {
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help,
                       name, type, name, value);
    };
    constexpr auto kRelaxed = std::memory_order_relaxed;
    metric("nudge_cdc_lag_bytes", "gauge",
           "WAL bytes between the server's position and the slot's confirmed position",
           lag_bytes());
    metric("nudge_cdc_confirmed_lsn", "gauge", "the slot position last confirmed to Postgres",
           confirmed_lsn.load(kRelaxed));
    metric("nudge_cdc_hub_waiting", "gauge", "1 while publishing waits for an unreachable hub",
           hub_waiting.load(kRelaxed) ? 1 : 0);
    metric("nudge_cdc_transactions_total", "counter", "committed transactions read",
           transactions.load(kRelaxed));
    metric("nudge_cdc_changes_total", "counter", "row changes read (insert, update, delete, truncate)",
           changes.load(kRelaxed));
    metric("nudge_cdc_events_published_total", "counter", "events the hub accepted",
           events_published.load(kRelaxed));
    metric("nudge_cdc_batches_published_total", "counter", "publish requests the hub accepted",
           batches_published.load(kRelaxed));
    metric("nudge_cdc_events_without_room_total", "counter",
           "rule matches dropped because every room template read a NULL",
           events_without_room.load(kRelaxed));
    metric("nudge_cdc_hub_failures_total", "counter", "publish attempts that failed (retried)",
           hub_failures.load(kRelaxed));
    metric("nudge_cdc_reconnects_total", "counter", "replication connections after the first",
           reconnects.load(kRelaxed));
    metric("nudge_cdc_stream_errors_total", "counter",
           "replication connections lost or closed for an undecodable message",
           stream_errors.load(kRelaxed));
    return out;
}

struct MetricsServer::Impl {
    Impl(const CdcMetrics& m) : metrics(m) {}
    const CdcMetrics& metrics;
    asio::io_context io{1};
    asio::ip::tcp::acceptor acceptor{io};
    std::thread thread;

    void accept() {
        acceptor.async_accept([this](beast::error_code ec, asio::ip::tcp::socket socket) {
            if (ec) return;  // closed on shutdown
            serve(std::make_shared<beast::tcp_stream>(std::move(socket)));
            accept();
        });
    }

    void serve(const std::shared_ptr<beast::tcp_stream>& stream) {
        auto buffer = std::make_shared<beast::flat_buffer>();
        auto request = std::make_shared<http::request<http::string_body>>();
        // A client that never finishes its request is dropped rather than held.
        stream->expires_after(std::chrono::seconds(10));
        http::async_read(*stream, *buffer, *request,
                         [this, stream, buffer, request](beast::error_code ec, std::size_t) {
                             if (ec) return;
                             auto response = std::make_shared<http::response<http::string_body>>();
                             response->version(request->version());
                             response->keep_alive(false);
                             if (request->target() == "/metrics") {
                                 response->result(http::status::ok);
                                 response->set(http::field::content_type, "text/plain; version=0.0.4");
                                 response->body() = metrics.render();
                             } else if (request->target() == "/healthz") {
                                 response->result(http::status::ok);
                                 response->body() = "ok\n";
                             } else {
                                 response->result(http::status::not_found);
                                 response->body() = "nudge-cdc serves /metrics and /healthz\n";
                             }
                             response->prepare_payload();
                             http::async_write(*stream, *response,
                                               [stream, response](beast::error_code, std::size_t) {
                                                   beast::error_code ignored;
                                                   stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                                               });
                         });
    }
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MetricsServer>, std::string> MetricsServer::start(
    const std::string& host, std::uint16_t port, const CdcMetrics& metrics) {
    auto impl = std::make_unique<Impl>(metrics);
    beast::error_code ec;
    const auto address = asio::ip::make_address(host, ec);
    if (ec) return fail(fmt::format("--metrics-host {} is not an IP address", host));
    const asio::ip::tcp::endpoint endpoint(address, port);
    impl->acceptor.open(endpoint.protocol(), ec);
    if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl->acceptor.bind(endpoint, ec);
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail(fmt::format("cannot listen for /metrics on {}:{}: {}", host, port, ec.message()));
    impl->accept();
    impl->thread = std::thread([raw = impl.get()] { raw->io.run(); });
    return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

std::uint16_t MetricsServer::port() const noexcept {
    beast::error_code ec;
    return impl_->acceptor.local_endpoint(ec).port();
}

MetricsServer::~MetricsServer() {
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace nudge::cdc
