// Metrics: the hub's counters and gauges, rendered as Prometheus text for GET /metrics.
//
// Every value is split into per-thread cells (one cache line each) so the fan-out hot path
// never contends on a shared atomic. By construction:
// - each worker thread claims its own cell with set_thread_slot(i), i < kWorkerSlots, and is
//   the only writer of that cell (relaxed load + store, no read-modify-write). Asking for a
//   slot past kWorkerSlots, or for one another live thread holds, aborts with a message: two
//   writers on one cell would lose counts. A thread's claim ends when the thread exits.
// - every other thread (signal handling, tests, tools) writes the shared last cell with an
//   atomic fetch_add, so concurrent writers there are exact too.
// The scrape sums the cells.
//
// Labelled counters are indexed by an enum with a trailing `kCount` enumerator; label_enum()
// names every value below kCount and aborts on an empty name, so a new enum value cannot be
// left without a label.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace nudge::metrics {

// Worker threads that can have a cell of their own; the Server caps its workers to this.
inline constexpr std::size_t kWorkerSlots = 63;
inline constexpr std::size_t kSharedSlot = kWorkerSlots;  // every non-worker thread
inline constexpr std::size_t kCells = kWorkerSlots + 1;

// Claims cell `slot` for the calling thread (aborts when out of range or taken).
void set_thread_slot(std::size_t slot);
[[nodiscard]] std::size_t thread_slot() noexcept;

// Writes a message and aborts: the "cannot happen" misuse of a metrics invariant.
[[noreturn]] void die(const char* message) noexcept;

// A monotonically increasing counter, or a gauge when add() is given negative deltas.
class Value {
public:
    void add(std::int64_t delta = 1) noexcept {
        const std::size_t slot = thread_slot();
        auto& cell = cells_[slot].v;
        if (slot == kSharedSlot) {
            cell.fetch_add(delta, std::memory_order_relaxed);
        } else {
            // The owning worker is this cell's only writer: no read-modify-write needed.
            cell.store(cell.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
        }
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
    std::array<Cell, kCells> cells_{};
};

// A counter with one fixed label whose values are known up front (close reasons, auth
// failure reasons, HTTP statuses): an array of Values indexed by the caller's enum.
template <std::size_t N>
struct Labeled {
    std::array<Value, N> values{};
    std::array<std::string_view, N> labels{};

    template <class Enum>
    Value& operator[](Enum e) noexcept {
        return values[static_cast<std::size_t>(e)];
    }
};

// Names every value of Enum below Enum::kCount with name(value); aborts when a name is empty.
template <class Enum, std::size_t N, class NameFn>
void label_enum(Labeled<N>& counter, NameFn name) {
    static_assert(static_cast<std::size_t>(Enum::kCount) <= N,
                  "the labelled counter has fewer slots than the enum has values");
    for (std::size_t i = 0; i < static_cast<std::size_t>(Enum::kCount); ++i) {
        const std::string_view label = name(static_cast<Enum>(i));
        if (label.empty()) die("a metric label is empty: every enum value needs a name");
        counter.labels[i] = label;
    }
}

// The HTTP answers counted by status; the label is the status code.
enum class ApiStatus { k200, k202, k400, k401, k404, k405, k413, k429, k431, k503, kOther, kCount };
[[nodiscard]] ApiStatus api_status(unsigned status) noexcept;
[[nodiscard]] std::string_view label(ApiStatus status) noexcept;

// The bounded tables (common/BoundedMap) whose removals and refusals are counted, by table.
enum class Table {
    kIdempotency,     // event ids (evict-oldest)
    kGrantedRooms,    // (selector, room) pairs granted by joins (refuse-new)
    kSubscribeHook,   // the subscribe hook's cache of allowed rooms (evict-oldest)
    kAuthFailures,    // sources of wrong API keys (evict-oldest)
    kRedisPositions,  // positions the Redis broker delivered lately (evict-oldest, no TTL)
    kCount
};
[[nodiscard]] std::string_view label(Table table) noexcept;

struct Registry {
    Registry();

    // A BoundedMap's removal hook: an entry of `table` expired, or was evicted to make room.
    void table_removed(Table table, bool evicted, std::int64_t entries = 1) noexcept {
        (evicted ? table_evictions : table_expirations)[table].add(entries);
    }

    Value connections;            // gauge: open WebSocket connections
    Value connections_total;      // WebSocket handshakes accepted
    Value sessions;               // gauge: clients connected to "/" (authenticated)
    Value handshake_rejections;   // HTTP 400 on the Engine.IO path
    Value emits;                  // events accepted by the publish API
    Value deliveries;             // events queued to clients by fan-out
    Value bytes_sent;
    Value bytes_received;
    Value slow_consumer_drops;    // clients disconnected for falling behind
    Value partial_budget_closes;  // clients closed when partial messages passed the budget
    Value close_timeouts;         // closing clients cut at --close-timeout
    Value accept_errors;          // accept() failures (EMFILE, ...)
    Value refused_per_address;    // connections refused by --max-connections-per-ip
    Value refused_rate;           // connections refused by --max-connect-rate
    Value polling_sessions;       // gauge: open HTTP long-polling sessions
    Value polling_sessions_refused;  // polling handshakes refused by --max-polling-sessions
    Value polling_held_gets;      // gauge: polling GETs held open, waiting for something to send
    Value hook_queued;            // gauge: subscribe-hook calls waiting for a free slot
    Value hook_refused_per_user;  // subscribe-hook calls refused by --subscribe-hook-max-per-user
    Value api_auth_failures;      // publish requests with a missing or wrong API key
    Value api_auth_backoffs;      // requests answered 429 by the per-IP API key backoff
    Value history_events;         // gauge: emits kept for connection-state recovery
    Value history_bytes;          // gauge: memory those emits hold (estimate)
    Value sessions_recovered;     // reconnects answered with the same pid (nothing lost)
    Value sessions_resynced;      // reconnects that lost events (recovered false + nudge:resync)
    Value events_replayed;        // events replayed from history to reconnecting clients
    Value duplicate_emits;        // published events with an id already seen (not delivered)
    Value idempotency_entries;    // gauge: event ids remembered
    Value idempotency_evictions;  // ids forgotten before their window ended (the cap was hit)
    Labeled<16> auth_failures;    // by reason
    Labeled<16> disconnects;      // by close reason
    Labeled<16> api_requests;     // by status of the answer
    Labeled<4> room_ops;          // membership requests accepted by the API, by kind
    Labeled<4> room_op_sockets;   // sockets joined, left or disconnected by them, by kind
    Labeled<16> subscriptions;    // client nudge:subscribe requests, by outcome
    Labeled<8> table_expirations;  // BoundedMap entries that reached their TTL, by table
    Labeled<8> table_evictions;    // entries forgotten to make room (evict-oldest), by table
    Labeled<8> table_refusals;     // entries refused because the table was full, by table
    Value broker_connected;       // gauge: 1 while the Redis broker's links are up (Redis only)
    Value broker_lag_us;          // gauge: Redis commit → this hub, of the last event received
    Value broker_reconnects;      // Redis links re-established after a loss
    Value broker_messages;        // events received from Redis (before de-duplication)
    Value broker_resyncs;         // rooms sent nudge:resync because Redis events may be missed
    Value broker_ignored;         // Redis messages not delivered (undecodable, unsupported)
    Value broker_backlog;         // gauge: events from Redis waiting for the hub's workers
    Value broker_reading_paused;  // gauge: 1 while the pub/sub links are paused (backlog full)
    Value broker_overloaded;      // requests refused: too many Redis commands in flight
    Value jwks_refreshes;         // JWKS documents fetched and installed after start
    Value jwks_refresh_failures;  // JWKS fetches that failed or did not parse (last good kept)

    // Prometheus text exposition format 0.0.4.
    [[nodiscard]] std::string render() const;
};

// The process-wide registry. Metrics are a leaf any module may use.
[[nodiscard]] Registry& registry();

}  // namespace nudge::metrics
