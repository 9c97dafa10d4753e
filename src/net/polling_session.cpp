#include "net/polling_session.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

#include "eio/payload.hpp"
#include "metrics/metrics.hpp"
#include "net/worker.hpp"

namespace nudge::net {

namespace {

// Engine.IO's packets for ending a held GET.
constexpr std::string_view kNoop = "6";
constexpr std::string_view kClose = "1";

}  // namespace

PollingSession::PollingSession(Worker& worker, std::uint32_t ip_key)
    : SessionCore(worker), ip_key_(ip_key) {
    worker.context().polling_sessions.fetch_add(1, std::memory_order_relaxed);
    metrics::registry().polling_sessions.add(1);
}

PollingSession::~PollingSession() { release_admission(); }

void PollingSession::release_admission() {
    if (!std::exchange(admitted_, false)) return;
    worker_.context().admission.release(std::exchange(ip_key_, 0));
    worker_.context().polling_sessions.fetch_sub(1, std::memory_order_relaxed);
    metrics::registry().polling_sessions.add(-1);
}

PollingSession& PollingSession::open(Worker& worker, std::uint32_t ip_key) {
    auto owned = std::make_unique<PollingSession>(worker, ip_key);
    PollingSession& session = *owned;
    worker.adopt(std::move(owned));
    worker.register_polling(session);
    auto& registry = metrics::registry();
    registry.connections.add(1);
    registry.connections_total.add(1);
    return session;
}

void PollingSession::on_poll(const std::shared_ptr<PollRequest>& request) {
    // Deadlines first: a request that arrives after the pong deadline finds the session
    // closed, whatever the sweep's granularity.
    tick(Clock::now());
    if (!open_) {
        request->answer_error(eio::HandshakeError::kUnknownSid);
        return;
    }
    if (pending_get_) {
        // Engine.IO: overlapping GETs mean a broken client or two tabs sharing a sid.
        request->answer_error(eio::HandshakeError::kBadRequest);
        end(session::CloseReason::kProtocolError, kClose);
        return;
    }
    pending_get_ = request;
    if (!queue_.empty()) {
        answer_pending();
    } else if (probed_) {
        std::exchange(pending_get_, nullptr)->answer_poll(std::string(kNoop));
    } else {
        request->hold(*this);
    }
}

void PollingSession::on_poll_aborted() {
    pending_get_.reset();
    if (open_) end(session::CloseReason::kTransportError, {});
}

std::optional<eio::HandshakeError> PollingSession::on_post(std::string_view body) {
    tick(Clock::now());
    if (!open_) return eio::HandshakeError::kUnknownSid;
    metrics::registry().bytes_received.add(static_cast<std::int64_t>(body.size()));
    auto packets = eio::decode_payload(body);
    if (!packets) {
        spdlog::debug("polling payload refused reason=\"{}\"", eio::message(packets.error()));
        end(session::CloseReason::kProtocolError, kClose);
        return eio::HandshakeError::kBadRequest;
    }
    for (const auto& packet : *packets) {
        session::Effects& effects = worker_.effects();
        effects.clear();
        if (packet.binary) {
            protocol_.on_binary(packet.data, effects);
        } else {
            protocol_.on_text(packet.data, std::chrono::system_clock::now(), effects);
        }
        apply_effects();
        if (!open_) {
            if (effects.close == session::CloseReason::kClientClose) return std::nullopt;
            return eio::HandshakeError::kBadRequest;
        }
    }
    send_queued();  // the replies to the whole payload in one answer to the held GET
    return std::nullopt;
}

void PollingSession::on_post_too_large() {
    if (open_) end(session::CloseReason::kPayloadTooLarge, kClose);
}

bool PollingSession::attach_probe(Connection& probe) {
    if (!open_ || probe_ != nullptr) return false;
    probe_ = &probe;
    return true;
}

void PollingSession::on_probe() {
    probed_ = true;
    if (pending_get_ && queue_.empty()) {
        std::exchange(pending_get_, nullptr)->answer_poll(std::string(kNoop));
    }
}

void PollingSession::end_upgraded() {
    // The WebSocket has the protocol, queue and rooms: no disconnect is counted.
    open_ = false;
    probe_ = nullptr;
    worker_.unregister_polling(*this);
    release_admission();
    metrics::registry().connections.add(-1);
    if (pending_get_) std::exchange(pending_get_, nullptr)->answer_poll(std::string(kNoop));
    worker_.retire(*this);
}

bool PollingSession::forward_answer(const std::string& client_pid, broker::Recovery& recovery) {
    if (!forward_answer_) return false;
    // Upgraded meanwhile: the WebSocket holds the session (and its held events) now.
    std::exchange(forward_answer_, nullptr)(client_pid, std::move(recovery));
    return true;
}

void PollingSession::close_for_protocol(session::CloseReason reason) {
    // The client's own close: its held GET ends with a noop. A token past its expiry ends
    // with the next request failing, so the client reconnects with a fresh token.
    end(reason,
        reason == session::CloseReason::kClientClose || reason == session::CloseReason::kTokenExpired
            ? kNoop
            : kClose);
}

bool PollingSession::push_out() {
    if (open_ && pending_get_ && !queue_.empty()) answer_pending();
    return true;
}

void PollingSession::flush() {
    in_flush_list = false;
    push_out();
}

std::string PollingSession::take_payload() {
    // An Engine.IO v4 payload: the queued packets as they are, separated by 0x1E. Only a
    // WebSocket queues wire bytes (SendQueue::Kind::kWire), never a polling session.
    const auto entries = queue_.unwritten();
    std::size_t size = 0;
    for (const auto& entry : entries) size += entry.bytes->size() + 1;
    std::string payload;
    payload.reserve(size);
    for (const auto& entry : entries) {
        if (entry.kind == SendQueue::Kind::kPacket) eio::append_text_packet(payload, *entry.bytes);
    }
    queue_.clear();
    return payload;
}

void PollingSession::answer_pending() {
    std::string payload = take_payload();
    metrics::registry().bytes_sent.add(static_cast<std::int64_t>(payload.size()));
    drained_below_low();  // a polling client's input is never paused: only the mark resets
    std::exchange(pending_get_, nullptr)->answer_poll(std::move(payload));
}

void PollingSession::end(session::CloseReason reason, std::string_view packet) {
    if (!open_) return;
    leave_session(reason);
    worker_.unregister_polling(*this);
    release_admission();
    spdlog::debug("polling session ended reason={}", session::to_string(reason));
    // A server disconnect's "41" goes out with the close packet; any other backlog is dropped.
    std::string payload;
    if (reason == session::CloseReason::kServerDisconnect) payload = take_payload();
    queue_.clear();
    if (pending_get_) {
        auto get = std::exchange(pending_get_, nullptr);
        if (packet.empty()) {
            get->answer_error(eio::HandshakeError::kUnknownSid);
        } else {
            eio::append_text_packet(payload, packet);
            get->answer_poll(std::move(payload));
        }
    }
    if (probe_ != nullptr) {
        worker_.defer_close(*probe_, session::CloseReason::kTransportError);
        probe_ = nullptr;
    }
    worker_.retire(*this);
}

void PollingSession::close(session::CloseReason reason) {
    close_deferred_ = false;
    if (!open_) return;
    if (reason == session::CloseReason::kSlowConsumer) {
        metrics::registry().slow_consumer_drops.add(1);
        worker_.log_slow_consumer(queued_bytes());
    }
    // Shutdown, slow consumer: the client's next request fails and it reconnects.
    end(reason, reason == session::CloseReason::kServerShutdown ? kNoop : kClose);
}

void PollingSession::tick(Clock::time_point now) {
    if (open_) tick_session(now);
}

}  // namespace nudge::net
