// Metrics: the hub's counters and gauges, rendered as Prometheus text for GET /metrics.
//
// Every value is split into per-thread cells (one cache line each) so the fan-out hot path
// never contends on a shared atomic: a worker only ever writes its own cell (relaxed), and
// the scrape sums the cells. Workers call set_thread_slot() once at start; any other thread
// writes the last slot.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace nudge::metrics {

inline constexpr std::size_t kSlots = 64;

void set_thread_slot(std::size_t slot);
[[nodiscard]] std::size_t thread_slot() noexcept;

// A monotonically increasing counter, or a gauge when add() is given negative deltas.
class Value {
public:
    void add(std::int64_t delta = 1) noexcept {
        auto& cell = cells_[thread_slot()].v;
        cell.store(cell.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
    }
    [[nodiscard]] std::int64_t read() const noexcept {
        std::int64_t sum = 0;
        for (const auto& cell : cells_) sum += cell.v.load(std::memory_order_relaxed);
        return sum;
    }

private:
    struct alignas(64) Cell {
        std::atomic<std::int64_t> v{0};
    };
    std::array<Cell, kSlots> cells_{};
};

// A counter with one fixed label whose values are known up front (close reasons, auth
// failure reasons, HTTP statuses): an array of Values indexed by the caller's enum.
template <std::size_t N>
struct Labeled {
    std::array<Value, N> values{};
    std::array<std::string_view, N> labels{};
};

struct Registry {
    Value connections;            // gauge: open WebSocket connections
    Value connections_total;      // WebSocket handshakes accepted
    Value sessions;               // gauge: clients connected to "/" (authenticated)
    Value handshake_rejections;   // HTTP 400 on the Engine.IO path
    Value emits;                  // events accepted by the publish API
    Value deliveries;             // frames queued to clients by fan-out
    Value bytes_sent;
    Value bytes_received;
    Value slow_consumer_drops;    // clients disconnected for falling behind
    Value partial_budget_closes;  // clients closed when partial messages passed the budget
    Value close_timeouts;         // closing clients cut at --close-timeout
    Value accept_errors;          // accept() failures (EMFILE, ...)
    Value refused_per_address;    // connections refused by --max-connections-per-ip
    Value refused_rate;           // connections refused by --max-connect-rate
    Labeled<16> auth_failures;    // by reason
    Labeled<16> disconnects;      // by close reason
    Labeled<8> api_requests;      // by status class of the answer

    // Prometheus text exposition format 0.0.4.
    [[nodiscard]] std::string render() const;
};

// The process-wide registry. Metrics are a leaf any module may use.
[[nodiscard]] Registry& registry();

}  // namespace nudge::metrics
