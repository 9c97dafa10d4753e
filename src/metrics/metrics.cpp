#include "metrics/metrics.hpp"

#include <fmt/format.h>

namespace nudge::metrics {

namespace {

// Which worker cells a live thread holds (bit i: cell i).
std::atomic<std::uint64_t> g_claimed{0};
static_assert(kWorkerSlots <= 64, "g_claimed has one bit per worker cell");

// The calling thread's cell; gives a worker cell back when the thread exits.
struct ThreadSlot {
    std::size_t slot = kSharedSlot;
    ThreadSlot() = default;
    ThreadSlot(const ThreadSlot&) = delete;
    ThreadSlot& operator=(const ThreadSlot&) = delete;
    ~ThreadSlot() { release(); }
    void release() noexcept {
        if (slot != kSharedSlot) {
            g_claimed.fetch_and(~(std::uint64_t{1} << slot), std::memory_order_acq_rel);
        }
        slot = kSharedSlot;
    }
};
thread_local ThreadSlot t_slot;

template <std::size_t N>
void render_labeled(std::string& out, std::string_view name, std::string_view label,
                    std::string_view help, const Labeled<N>& counter) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (std::size_t i = 0; i < N; ++i) {
        if (counter.labels[i].empty()) continue;
        fmt::format_to(std::back_inserter(out), "{}{{{}=\"{}\"}} {}\n", name, label,
                       counter.labels[i], counter.values[i].read());
    }
}

void render_value(std::string& out, std::string_view name, std::string_view type,
                  std::string_view help, const Value& value) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help,
                   name, type, name, value.read());
}
}  // namespace

void die(const char* message) noexcept {
    std::fprintf(stderr, "nudged: fatal: %s\n", message);
    std::fflush(stderr);
    std::abort();
}

void set_thread_slot(std::size_t slot) {
    if (slot >= kWorkerSlots) die("metrics: thread slot past the number of worker cells");
    if (t_slot.slot == slot) return;
    const std::uint64_t bit = std::uint64_t{1} << slot;
    if ((g_claimed.fetch_or(bit, std::memory_order_acq_rel) & bit) != 0) {
        die("metrics: two threads claimed the same worker cell");
    }
    t_slot.release();
    t_slot.slot = slot;
}

std::size_t thread_slot() noexcept { return t_slot.slot; }

ApiStatus api_status(unsigned status) noexcept {
    switch (status) {
        case 200: return ApiStatus::k200;
        case 202: return ApiStatus::k202;
        case 400: return ApiStatus::k400;
        case 401: return ApiStatus::k401;
        case 404: return ApiStatus::k404;
        case 405: return ApiStatus::k405;
        case 413: return ApiStatus::k413;
        case 429: return ApiStatus::k429;
        case 431: return ApiStatus::k431;
        case 503: return ApiStatus::k503;
        default: return ApiStatus::kOther;
    }
}

std::string_view label(ApiStatus status) noexcept {
    switch (status) {
        case ApiStatus::k200: return "200";
        case ApiStatus::k202: return "202";
        case ApiStatus::k400: return "400";
        case ApiStatus::k401: return "401";
        case ApiStatus::k404: return "404";
        case ApiStatus::k405: return "405";
        case ApiStatus::k413: return "413";
        case ApiStatus::k429: return "429";
        case ApiStatus::k431: return "431";
        case ApiStatus::k503: return "503";
        case ApiStatus::kOther: return "other";
        case ApiStatus::kCount: break;
    }
    return {};
}

std::string_view label(Table table) noexcept {
    switch (table) {
        case Table::kIdempotency: return "idempotency";
        case Table::kGrantedRooms: return "granted_rooms";
        case Table::kSubscribeHook: return "subscribe_hook";
        case Table::kAuthFailures: return "auth_failures";
        case Table::kRedisPositions: return "redis_positions";
        case Table::kCount: break;
    }
    return {};
}

Registry::Registry() {
    label_enum<ApiStatus>(api_requests, [](ApiStatus s) { return label(s); });
    const auto table = [](Table t) { return label(t); };
    label_enum<Table>(table_expirations, table);
    label_enum<Table>(table_evictions, table);
    label_enum<Table>(table_refusals, table);
}

std::string Registry::render() const {
    std::string out;
    out.reserve(4096);
    render_value(out, "nudge_connections", "gauge", "Open client connections (WebSockets and HTTP long-polling sessions).", connections);
    render_value(out, "nudge_connections_total", "counter", "Client sessions opened (WebSocket handshakes and polling handshakes).",
                 connections_total);
    render_value(out, "nudge_sessions", "gauge", "Clients connected to the main namespace.",
                 sessions);
    render_value(out, "nudge_handshake_rejections_total", "counter",
                 "Engine.IO handshakes refused with HTTP 400.", handshake_rejections);
    render_value(out, "nudge_emits_total", "counter", "Events accepted by the publish API.",
                 emits);
    render_value(out, "nudge_deliveries_total", "counter", "Events queued to clients.",
                 deliveries);
    render_value(out, "nudge_bytes_sent_total", "counter", "Bytes written to client sockets.",
                 bytes_sent);
    render_value(out, "nudge_bytes_received_total", "counter",
                 "Bytes read from client sockets.", bytes_received);
    render_value(out, "nudge_slow_consumer_drops_total", "counter",
                 "Clients disconnected because their send queue passed its bound.",
                 slow_consumer_drops);
    render_value(out, "nudge_partial_budget_closes_total", "counter",
                 "Clients closed because partially received messages passed --max-partial-bytes.",
                 partial_budget_closes);
    render_value(out, "nudge_close_timeouts_total", "counter",
                 "Closing clients whose TCP connection was cut at --close-timeout.", close_timeouts);
    render_value(out, "nudge_accept_errors_total", "counter",
                 "Failed accept() calls (e.g. out of file descriptors).", accept_errors);
    render_value(out, "nudge_connections_refused_per_ip_total", "counter",
                 "Connections refused by --max-connections-per-ip.", refused_per_address);
    render_value(out, "nudge_connections_refused_rate_total", "counter",
                 "Connections refused by --max-connect-rate.", refused_rate);
    render_value(out, "nudge_polling_sessions", "gauge", "Open HTTP long-polling sessions.",
                 polling_sessions);
    render_value(out, "nudge_polling_sessions_refused_total", "counter",
                 "Polling handshakes refused by --max-polling-sessions.", polling_sessions_refused);
    render_value(out, "nudge_polling_held_gets", "gauge",
                 "Polling GETs held open until something is sent to their session.",
                 polling_held_gets);
    render_value(out, "nudge_subscribe_hook_queued", "gauge",
                 "Subscribe-hook calls waiting for a free slot (served to users in turn).",
                 hook_queued);
    render_value(out, "nudge_subscribe_hook_refused_per_user_total", "counter",
                 "Subscribe-hook calls refused busy by --subscribe-hook-max-per-user.",
                 hook_refused_per_user);
    render_value(out, "nudge_api_auth_failures_total", "counter",
                 "Publish API requests with a missing or wrong API key.", api_auth_failures);
    render_value(out, "nudge_api_auth_backoffs_total", "counter",
                 "Requests answered 429 by the per-IP API key backoff.", api_auth_backoffs);
    render_value(out, "nudge_broker_connected", "gauge",
                 "1 while the Redis broker is connected (0 with the embedded broker: no Redis).",
                 broker_connected);
    fmt::format_to(std::back_inserter(out),
                   "# HELP nudge_broker_lag_seconds Time from the Redis commit of the last event "
                   "received from Redis to its arrival at this hub.\n"
                   "# TYPE nudge_broker_lag_seconds gauge\nnudge_broker_lag_seconds {:.6f}\n",
                   static_cast<double>(broker_lag_us.read()) / 1e6);
    render_value(out, "nudge_broker_reconnects_total", "counter",
                 "Redis links re-established after a loss.", broker_reconnects);
    render_value(out, "nudge_broker_messages_total", "counter",
                 "Events received from Redis (before de-duplication).", broker_messages);
    render_value(out, "nudge_broker_resyncs_total", "counter",
                 "Rooms sent nudge:resync because events from Redis may have been missed.",
                 broker_resyncs);
    render_value(out, "nudge_broker_ignored_total", "counter",
                 "Messages from Redis not delivered (undecodable or unsupported).", broker_ignored);
    render_value(out, "nudge_broker_backlog", "gauge",
                 "Events from Redis waiting for the hub's workers (bounded by --redis-max-backlog).",
                 broker_backlog);
    render_value(out, "nudge_broker_reading_paused", "gauge",
                 "1 while the Redis pub/sub links are not read because the delivery backlog is full.",
                 broker_reading_paused);
    render_value(out, "nudge_broker_overloaded_total", "counter",
                 "Publish and membership requests answered 503 overloaded: too many Redis commands "
                 "in flight (--redis-max-commands-in-flight).",
                 broker_overloaded);
    render_value(out, "nudge_history_events", "gauge",
                 "Emits kept for connection-state recovery.", history_events);
    render_value(out, "nudge_history_bytes", "gauge",
                 "Memory held by the recovery history (estimate).", history_bytes);
    render_value(out, "nudge_sessions_recovered_total", "counter",
                 "Reconnects recovered with every missed event replayed.", sessions_recovered);
    render_value(out, "nudge_sessions_resynced_total", "counter",
                 "Reconnects that lost events: recovered false and a nudge:resync event.",
                 sessions_resynced);
    render_value(out, "nudge_events_replayed_total", "counter",
                 "Events replayed from history to reconnecting clients.", events_replayed);
    render_value(out, "nudge_duplicate_emits_total", "counter",
                 "Published events whose id was seen within the idempotency window (not delivered).",
                 duplicate_emits);
    render_value(out, "nudge_idempotency_entries", "gauge", "Event ids remembered.",
                 idempotency_entries);
    render_value(out, "nudge_idempotency_evictions_total", "counter",
                 "Event ids forgotten before their window ended (--idempotency-max-entries).",
                 idempotency_evictions);
    render_labeled(out, "nudge_auth_failures_total", "reason", "Refused Socket.IO CONNECTs.",
                   auth_failures);
    render_labeled(out, "nudge_disconnects_total", "reason", "Closed client connections (either transport).",
                   disconnects);
    render_labeled(out, "nudge_api_requests_total", "status", "HTTP API answers by status.",
                   api_requests);
    render_labeled(out, "nudge_room_ops_total", "op",
                   "Membership requests (join, leave, disconnect) accepted by the API.", room_ops);
    render_labeled(out, "nudge_room_op_sockets_total", "op",
                   "Sockets joined, left or disconnected by membership requests.", room_op_sockets);
    render_value(out, "nudge_jwks_refreshes_total", "counter",
                 "JWKS documents fetched and installed after start.", jwks_refreshes);
    render_value(out, "nudge_jwks_refresh_failures_total", "counter",
                 "JWKS fetches that failed or did not parse; the last good keys stay.",
                 jwks_refresh_failures);
    render_labeled(out, "nudge_subscriptions_total", "result",
                   "Client nudge:subscribe requests by outcome.", subscriptions);
    render_labeled(out, "nudge_table_expirations_total", "table",
                   "Entries of a bounded table removed at the end of their TTL.", table_expirations);
    render_labeled(out, "nudge_table_evictions_total", "table",
                   "Entries of a bounded table forgotten to make room for a new one (the table was full).",
                   table_evictions);
    render_labeled(out, "nudge_table_refusals_total", "table",
                   "Entries refused because their bounded table was full (granted rooms: joins not remembered).",
                   table_refusals);
    return out;
}

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace nudge::metrics
