#include "metrics/metrics.hpp"

#include <fmt/format.h>

namespace nudge::metrics {

namespace {
thread_local std::size_t t_slot = kSlots - 1;

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

void set_thread_slot(std::size_t slot) { t_slot = slot % (kSlots - 1); }
std::size_t thread_slot() noexcept { return t_slot; }

std::string Registry::render() const {
    std::string out;
    out.reserve(4096);
    render_value(out, "nudge_connections", "gauge", "Open WebSocket connections.", connections);
    render_value(out, "nudge_connections_total", "counter", "WebSocket handshakes accepted.",
                 connections_total);
    render_value(out, "nudge_sessions", "gauge", "Clients connected to the main namespace.",
                 sessions);
    render_value(out, "nudge_handshake_rejections_total", "counter",
                 "Engine.IO handshakes refused with HTTP 400.", handshake_rejections);
    render_value(out, "nudge_emits_total", "counter", "Events accepted by the publish API.",
                 emits);
    render_value(out, "nudge_deliveries_total", "counter", "Event frames queued to clients.",
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
    render_labeled(out, "nudge_auth_failures_total", "reason", "Refused Socket.IO CONNECTs.",
                   auth_failures);
    render_labeled(out, "nudge_disconnects_total", "reason", "Closed WebSocket connections.",
                   disconnects);
    render_labeled(out, "nudge_api_requests_total", "status", "HTTP API answers by status.",
                   api_requests);
    return out;
}

Registry& registry() {
    static Registry instance;
    return instance;
}

}  // namespace nudge::metrics
