#include "net/polling_session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <chrono>
#include <utility>

#include "auth/jwt_verifier.hpp"
#include "eio/payload.hpp"
#include "common/random_id.hpp"
#include "hub/hub.hpp"
#include "net/recovery_answer.hpp"
#include "sio/packet.hpp"
#include <boost/asio/post.hpp>
#include "metrics/metrics.hpp"
#include "net/http_connection.hpp"
#include "net/worker.hpp"
#include "ws/frame_writer.hpp"

namespace nudge::net {

namespace {

// Engine.IO's packets for ending a held GET.
constexpr std::string_view kNoop = "6";
constexpr std::string_view kClose = "1";

// A GET answer reads at most this many frames per gather; the loop continues with the rest.
constexpr std::size_t kGather = 64;

}  // namespace

PollingSession::PollingSession(Worker& worker)
    : worker_(worker), protocol_(worker.context().session, session::Protocol::Clock::now()) {}

PollingSession::~PollingSession() {
    // Normally end() ran; a session destroyed with its worker (process exit) leaves its rooms.
    if (!closed_) worker_.rooms().leave_all(this);
}

PollingSession& PollingSession::open(Worker& worker) {
    auto owned = std::make_unique<PollingSession>(worker);
    PollingSession& session = *owned;
    worker.adopt(std::move(owned));
    worker.register_polling(session);
    auto& registry = metrics::registry();
    registry.connections.add(1);
    registry.connections_total.add(1);
    return session;
}

void PollingSession::on_poll(const std::shared_ptr<HttpConnection>& request) {
    // Deadlines first: a request that arrives after the pong deadline finds the session
    // closed, whatever the sweep's granularity.
    tick(session::Protocol::Clock::now());
    if (closed_) {
        request->answer_error(eio::HandshakeError::kUnknownSid);
        return;
    }
    if (pending_get_) {
        // Engine.IO: overlapping GETs mean a broken client or two tabs sharing a sid.
        request->answer_error(eio::HandshakeError::kBadRequest);
        end(session::CloseReason::kProtocolError, kClose, true);
        return;
    }
    pending_get_ = request;
    if (!queue_.empty()) {
        answer_pending();
    } else if (probed_) {
        auto get = std::exchange(pending_get_, nullptr);
        get->answer_poll(std::string(kNoop));
    } else {
        request->hold(*this);
    }
}

void PollingSession::on_poll_aborted() {
    pending_get_.reset();
    if (!closed_) end(session::CloseReason::kTransportError, {}, true);
}

std::optional<eio::HandshakeError> PollingSession::on_post(std::string_view body) {
    tick(session::Protocol::Clock::now());
    if (closed_) return eio::HandshakeError::kUnknownSid;
    metrics::registry().bytes_received.add(static_cast<std::int64_t>(body.size()));
    auto packets = eio::decode_payload(body);
    if (!packets) {
        spdlog::debug("polling payload refused reason=\"{}\"", eio::message(packets.error()));
        end(session::CloseReason::kProtocolError, kClose, true);
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
        if (closed_) {
            if (effects.close == session::CloseReason::kClientClose) return std::nullopt;
            return eio::HandshakeError::kBadRequest;
        }
    }
    return std::nullopt;
}

void PollingSession::on_post_too_large() {
    if (!closed_) end(session::CloseReason::kPayloadTooLarge, kClose, true);
}

bool PollingSession::attach_probe(Connection& probe) {
    if (closed_ || probe_ != nullptr) return false;
    probe_ = &probe;
    return true;
}

void PollingSession::on_probe() {
    probed_ = true;
    if (pending_get_ && queue_.empty()) {
        auto get = std::exchange(pending_get_, nullptr);
        get->answer_poll(std::string(kNoop));
    }
}

void PollingSession::end_upgraded() {
    // The WebSocket has the protocol, queue and rooms: no disconnect is counted.
    closed_ = true;
    probe_ = nullptr;
    worker_.unregister_polling(*this);
    metrics::registry().connections.add(-1);
    if (pending_get_) std::exchange(pending_get_, nullptr)->answer_poll(std::string(kNoop));
    worker_.retire(*this);
}

void PollingSession::apply_effects() {
    session::Effects& effects = worker_.effects();
    auto& registry = metrics::registry();
    if (effects.auth_failure) {
        registry.auth_failures.values[static_cast<std::size_t>(*effects.auth_failure)].add(1);
        spdlog::log(worker_.context().log_sessions_at_info ? spdlog::level::info : spdlog::level::debug,
                    "auth refused reason={}", auth::reason(*effects.auth_failure));
    }
    for (const auto& room : effects.join) worker_.rooms().join(room, this);
    if (effects.user_id) {
        // Rooms the backend granted to this user's rooms (--granted-rooms-ttl) come back.
        if (const hub::Hub* hub = worker_.context().hub; hub != nullptr && hub->grants().enabled()) {
            for (const auto& room : hub->granted_rooms(effects.join)) worker_.rooms().join(room, this);
        }
        registry.sessions.add(1);
        spdlog::log(worker_.context().log_sessions_at_info ? spdlog::level::info : spdlog::level::debug,
                    "client connected transport=polling user={}", *effects.user_id);
    }
    for (const auto& room : effects.leave) worker_.rooms().leave(room, this);
    if (effects.subscription) registry.subscriptions[*effects.subscription].add(1);
    if (effects.hook_query) ask_hook(std::move(*effects.hook_query));
    if (effects.leave_all) {
        worker_.rooms().leave_all(this);
        registry.sessions.add(-1);
    }
    for (const auto& text : effects.send) {
        enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, text)),
                false);
        if (closed_) return;
    }
    if (effects.recover) recover(std::move(*effects.recover));
    if (closed_) return;
    if (pending_get_ && !queue_.empty()) answer_pending();
    if (effects.close) {
        const session::CloseReason reason = *effects.close;
        // The client's own close: its held GET ends with a noop. A token past its expiry ends
        // with the next request failing, so the client reconnects with a fresh token.
        end(reason,
            reason == session::CloseReason::kClientClose ||
                    reason == session::CloseReason::kTokenExpired
                ? kNoop
                : kClose,
            true);
    }
}

void PollingSession::enqueue(hub::Frame frame, bool from_fanout) {
    if (closed_) return;
    const auto& limits = worker_.context().limits;
    const std::size_t cost = frame->size() + SendQueue::kEntryOverhead;
    if (queue_.bytes() + cost > limits.max_send_queue_bytes) {
        if (from_fanout) {
            // The hub is iterating a room this session is in: close after the batch.
            worker_.defer_close(*this, session::CloseReason::kSlowConsumer);
        } else {
            close(session::CloseReason::kSlowConsumer);
        }
        return;
    }
    queue_.push(std::move(frame));
    if (from_fanout) worker_.schedule_flush(*this);
    if (!above_high_ && queue_.bytes() > limits.send_queue_high_watermark) {
        // A client that does not poll for --slow-consumer-timeout while above the mark is
        // dropped, as a WebSocket client that does not read is.
        above_high_ = true;
        slow_deadline_ = session::Protocol::Clock::now() + limits.slow_consumer_timeout;
    }
}

void PollingSession::deliver(const hub::Frame& frame) { enqueue(frame, true); }

void PollingSession::flush() {
    in_flush_list = false;
    if (!closed_ && pending_get_ && !queue_.empty()) answer_pending();
}

std::string PollingSession::take_payload() {
    std::string payload;
    std::array<boost::asio::const_buffer, kGather> buffers;
    for (;;) {
        const std::size_t count = queue_.gather(buffers);
        if (count == 0) break;
        std::size_t bytes = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const std::string_view frame(static_cast<const char*>(buffers[i].data()),
                                         buffers[i].size());
            bytes += frame.size();
            const auto own = ws::read_own_frame(frame);
            if (!own) continue;  // every queued frame is one the hub or apply_effects() wrote
            if (own->opcode == ws::Opcode::kBinary) {
                eio::append_binary_packet(payload, own->payload);
            } else {
                eio::append_text_packet(payload, own->payload);
            }
        }
        queue_.consume(bytes);
    }
    return payload;
}

void PollingSession::answer_pending() {
    std::string payload = take_payload();
    metrics::registry().bytes_sent.add(static_cast<std::int64_t>(payload.size()));
    if (above_high_ && queue_.bytes() <= worker_.context().limits.send_queue_low_watermark) {
        above_high_ = false;
    }
    std::exchange(pending_get_, nullptr)->answer_poll(std::move(payload));
}

void PollingSession::end(session::CloseReason reason, std::string_view packet, bool counted) {
    if (closed_) return;
    closed_ = true;
    auto& registry = metrics::registry();
    worker_.rooms().leave_all(this);
    worker_.unregister_polling(*this);
    if (counted) {
        if (protocol_.connected()) registry.sessions.add(-1);
        registry.connections.add(-1);
        registry.disconnects.values[static_cast<std::size_t>(reason)].add(1);
    }
    spdlog::debug("client closing transport=polling reason={}", session::to_string(reason));
    queue_.clear();
    if (pending_get_) {
        auto get = std::exchange(pending_get_, nullptr);
        if (packet.empty()) {
            get->answer_error(eio::HandshakeError::kUnknownSid);
        } else {
            get->answer_poll(std::string(packet));
        }
    }
    if (probe_ != nullptr) {
        worker_.defer_close(*probe_, session::CloseReason::kTransportError);
        probe_ = nullptr;
    }
    worker_.retire(*this);
}

void PollingSession::answer_subscription(const std::optional<std::uint64_t>& ack_id,
                                         session::SubscribeOutcome outcome) {
    metrics::registry().subscriptions[outcome].add(1);
    if (!ack_id) return;
    enqueue(std::make_shared<const std::string>(
                ws::encode_frame(ws::Opcode::kText, session::subscribe_ack(*ack_id, outcome))),
            false);
    if (!closed_ && pending_get_ && !queue_.empty()) answer_pending();
}

void PollingSession::ask_hook(session::HookQuery query) {
    using session::SubscribeOutcome;
    SubscribeHook* hook = worker_.subscribe_hook();
    if (hook == nullptr) {  // the protocol asks only when a hook is configured
        answer_subscription(query.ack_id, SubscribeOutcome::kHookError);
        return;
    }
    if (hook->cached(protocol_.user_id(), query.room, SubscribeHook::Clock::now())) {
        worker_.rooms().join(query.room, this);
        answer_subscription(query.ack_id, SubscribeOutcome::kGrantedCached);
        return;
    }
    if (pending_hooks_ >= worker_.context().session.config.max_pending_subscribes) {
        answer_subscription(query.ack_id, SubscribeOutcome::kBusy);
        return;
    }
    ++pending_hooks_;
    const std::string room = query.room;
    hook->ask(protocol_.user_id(), room, [this, query = std::move(query)](SubscribeHook::Verdict verdict) {
        --pending_hooks_;
        // Closed (or upgraded), or a DISCONNECT and another CONNECT since: not for this session.
        if (closed_ || protocol_.epoch() != query.epoch || !protocol_.connected()) return;
        const SubscribeOutcome outcome = subscribe_outcome(verdict);
        if (outcome == SubscribeOutcome::kGrantedHook) worker_.rooms().join(query.room, this);
        answer_subscription(query.ack_id, outcome);
    });
}

void PollingSession::recover(session::Recover recover) {
    broker::Broker* broker = worker_.context().broker;
    if (broker == nullptr) {
        enqueue(std::make_shared<const std::string>(ws::encode_frame(
                    ws::Opcode::kText, sio::encode_connect("/", random_id()))),
                false);
        return;
    }
    broker::RecoveryRequest request;
    // The rooms just joined: every event numbered after the broker's answer arrives live.
    request.rooms = worker_.effects().join;
    request.from = std::move(recover.from);
    request.max_bytes = worker_.context().limits.max_send_queue_bytes;
    request.per_frame_overhead = SendQueue::kEntryOverhead;
    ++pending_hooks_;
    deliver_from = hub::Subscriber::kHold;  // live events wait for the answer (see WsConnection)
    auto on_recovered = [this, pid = std::move(recover.pid)](broker::Recovery recovery) {
        --pending_hooks_;
        if (forward_answer_) {
            // Upgraded meanwhile: the WebSocket holds the session (and its held events) now.
            std::exchange(forward_answer_, nullptr)(pid, std::move(recovery));
            return;
        }
        deliver_from = pid.empty() ? 0 : recovery.now.seq + 1;
        auto held = take_held();
        if (closed_ || !protocol_.connected()) return;
        for (const auto& text : recovery_answer(pid, recovery)) {
            enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, text)),
                    false);
            if (closed_) return;
        }
        for (auto& frame : recovery.replay) {
            enqueue(std::move(frame), false);
            if (closed_) return;
        }
        for (auto& event : held) {
            if (event.seq < deliver_from) continue;
            enqueue(std::move(event.frame), false);
            if (closed_) return;
        }
        if (pending_get_ && !queue_.empty()) answer_pending();
    };
    broker->recover(std::move(request), [this, on_recovered = std::move(on_recovered)](
                                            broker::Recovery recovery) mutable {
        if (worker_.io().get_executor().running_in_this_thread()) {
            on_recovered(std::move(recovery));
            return;
        }
        boost::asio::post(worker_.io(), [on_recovered = std::move(on_recovered),
                                         recovery = std::move(recovery)]() mutable {
            on_recovered(std::move(recovery));
        });
    });
}

void PollingSession::disconnect() {
    if (closed_) return;
    if (!protocol_.connected()) {
        close(session::CloseReason::kServerDisconnect);
        return;
    }
    // "41" (Socket.IO DISCONNECT of "/": socket.io-client does not reconnect), then the close
    // packet, both in the answer to the held GET; without one, the next request fails.
    enqueue(std::make_shared<const std::string>(ws::encode_frame(ws::Opcode::kText, "41")), false);
    if (closed_) return;
    std::string payload = take_payload();
    eio::append_text_packet(payload, kClose);
    end(session::CloseReason::kServerDisconnect, payload, true);
}

void PollingSession::close(session::CloseReason reason) {
    if (closed_) return;
    if (reason == session::CloseReason::kSlowConsumer) {
        metrics::registry().slow_consumer_drops.add(1);
        worker_.log_slow_consumer(queue_.bytes());
    }
    // Shutdown, slow consumer: the client's next request fails and it reconnects.
    end(reason, reason == session::CloseReason::kServerShutdown ? kNoop : kClose, true);
}

void PollingSession::tick(session::Protocol::Clock::time_point now) {
    if (closed_) return;
    if (above_high_ && now >= slow_deadline_) {
        close(session::CloseReason::kSlowConsumer);
        return;
    }
    session::Effects& effects = worker_.effects();
    effects.clear();
    protocol_.on_tick(now, effects);
    apply_effects();
}

}  // namespace nudge::net
