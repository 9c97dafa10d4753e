// nudge-cdc's counters and gauges, and the small HTTP listener serving them at /metrics in
// the Prometheus text format. The replication thread writes the atomics; the listener's own
// thread reads them. Nothing here touches Postgres or the hub.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.hpp"

namespace nudge::cdc {

struct CdcMetrics {
    std::atomic<std::uint64_t> transactions{0};
    std::atomic<std::uint64_t> changes{0};
    std::atomic<std::uint64_t> events_published{0};
    std::atomic<std::uint64_t> batches_published{0};
    std::atomic<std::uint64_t> events_without_room{0};
    std::atomic<std::uint64_t> hub_failures{0};       // publish attempts that failed
    std::atomic<std::uint64_t> reconnects{0};         // replication connections after the first
    std::atomic<std::uint64_t> stream_errors{0};      // lost connections and undecodable messages
    std::atomic<std::uint64_t> confirmed_lsn{0};      // the slot position last sent to Postgres
    std::atomic<std::uint64_t> server_lsn{0};         // the server's WAL end, last seen
    std::atomic<bool> hub_waiting{false};             // publishing is blocked on the hub

    [[nodiscard]] std::uint64_t lag_bytes() const noexcept {
        const auto server = server_lsn.load(std::memory_order_relaxed);
        const auto confirmed = confirmed_lsn.load(std::memory_order_relaxed);
        return server > confirmed ? server - confirmed : 0;
    }
    [[nodiscard]] std::string render() const;
};

// Serves GET /metrics (and /healthz) on its own thread until destroyed.
class MetricsServer {
public:
    // Binds host:port (0: any free port); the error names the address.
    [[nodiscard]] static Result<std::unique_ptr<MetricsServer>, std::string> start(
        const std::string& host, std::uint16_t port, const CdcMetrics& metrics);
    [[nodiscard]] std::uint16_t port() const noexcept;
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    struct Impl;

private:
    explicit MetricsServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace nudge::cdc
