#include "net/session_core.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <utility>

#include "auth/jwt_verifier.hpp"
#include "common/random_id.hpp"
#include "common/unix_time.hpp"
#include "hub/hub.hpp"
#include "metrics/metrics.hpp"
#include "net/recovery_answer.hpp"
#include "net/worker.hpp"
#include "sio/packet.hpp"

namespace nudge::net {

SessionCore::SessionCore(Worker& worker)
    : worker_(worker), protocol_(worker.context().session, Clock::now()) {}

// Normally leave_session() ran. A session destroyed with its worker (process exit) does not
// touch the rooms: the hub that holds them is destroyed before the workers.
SessionCore::~SessionCore() = default;

void SessionCore::refuse(session::CloseReason reason, bool from_fanout) {
    if (from_fanout) {
        // Cannot close here: the hub is iterating a room this session is in.
        close_deferred_ = true;
        worker_.defer_close(*this, reason);
    } else {
        close(reason);
    }
}

void SessionCore::enqueue(hub::Packet bytes, bool from_fanout, SendQueue::Kind kind) {
    if (!open_ || close_deferred_) return;
    const auto& limits = worker_.context().limits;
    const std::size_t cost = bytes->size() + SendQueue::kEntryOverhead;
    if (queued_bytes() + cost > limits.max_send_queue_bytes) {
        // Before calling the client slow, hand what is queued to the transport: a big batch
        // can pass the bound for a client that reads perfectly well.
        const bool ok = push_out();
        if (!ok || queued_bytes() + cost > limits.max_send_queue_bytes) {
            refuse(ok ? session::CloseReason::kSlowConsumer : session::CloseReason::kTransportError,
                   from_fanout);
            return;
        }
    }
    // The broadcast hot path: nothing queued, the transport writes straight from the batch.
    if (from_fanout && queue_.empty() && take_direct(bytes)) return;
    if (first_link != kNoLink) unstage();  // keep the order: staged packets came first
    queue_.push(std::move(bytes), kind);
    if (from_fanout) worker_.schedule_flush(*this);
    if (!above_high_ && queue_.bytes() > limits.send_queue_high_watermark) {
        // Stop taking input until the client drains: its own input (pings, acks) cannot pile
        // up replies, and a client that stays above the mark for --slow-consumer-timeout is
        // dropped (Redis's soft output-buffer limit).
        above_high_ = true;
        deadline_ = Clock::now() + limits.slow_consumer_timeout;
        pause_input();
    }
}

void SessionCore::hold(std::uint64_t seq, hub::Packet packet) {
    // Held events are bytes for the client too: charged like queued ones.
    if (!open_ || close_deferred_) return;
    const std::size_t cost = packet->size() + SendQueue::kEntryOverhead;
    if (queued_bytes() + cost > worker_.context().limits.max_send_queue_bytes) {
        refuse(session::CloseReason::kSlowConsumer, true);
        return;
    }
    Subscriber::hold(seq, std::move(packet));
}

void SessionCore::send_text(std::string_view text) {
    enqueue(std::make_shared<const std::string>(text), false);
}

void SessionCore::unstage() {
    for (std::uint32_t link = first_link; link != kNoLink;) {
        const auto& staged = worker_.staged(link);
        queue_.push(staged.packet);
        link = staged.next;
    }
    first_link = last_link = kNoLink;
    staged_bytes = 0;
}

bool SessionCore::drained_below_low() noexcept {
    if (!above_high_ || queue_.bytes() > worker_.context().limits.send_queue_low_watermark) {
        return false;
    }
    above_high_ = false;
    return true;
}

void SessionCore::disconnect() {
    if (!open_) return;
    if (protocol_.connected()) send_text("41");  // Socket.IO DISCONNECT of "/"
    close(session::CloseReason::kServerDisconnect);
}

void SessionCore::tick_session(Clock::time_point now) {
    if (above_high_ && now >= deadline_) {
        close(session::CloseReason::kSlowConsumer);
        return;
    }
    session::Effects& effects = worker_.effects();
    effects.clear();
    protocol_.on_tick(now, effects);
    apply_effects();
    send_queued();
}

void SessionCore::leave_session(session::CloseReason reason) {
    if (!open_) return;
    open_ = false;
    first_link = last_link = kNoLink;
    staged_bytes = 0;
    auto& registry = metrics::registry();
    worker_.rooms().leave_all(this);
    if (protocol_.connected()) registry.sessions.add(-1);
    registry.connections.add(-1);
    registry.disconnects.values[static_cast<std::size_t>(reason)].add(1);
    spdlog::debug("client closing reason={}", session::to_string(reason));
}

// --dev logs each connect and each refused token at info (debug otherwise).
spdlog::level::level_enum SessionCore::session_log_level() const {
    return worker_.context().log_sessions_at_info ? spdlog::level::info : spdlog::level::debug;
}

void SessionCore::apply_effects() {
    session::Effects& effects = worker_.effects();
    auto& registry = metrics::registry();
    if (effects.auth_failure) {
        registry.auth_failures.values[static_cast<std::size_t>(*effects.auth_failure)].add(1);
        spdlog::log(session_log_level(), "auth refused reason={}", auth::reason(*effects.auth_failure));
    }
    if (effects.event_form) {
        // Before the joins: every event this session gets is in its own form.
        variant = effects.event_form->metadata ? hub::Variant::kNudge
                  : effects.event_form->offsets ? hub::Variant::kOffset
                                                : hub::Variant::kPlain;
        recovers = effects.event_form->offsets;
    }
    for (const auto& room : effects.join) worker_.rooms().join(room, this);
    if (effects.user_id) {
        // Rooms the backend granted to this user's rooms (--granted-rooms-ttl) come back.
        if (const hub::Hub* hub = worker_.context().hub; hub != nullptr && hub->grants().enabled()) {
            for (const auto& room : hub->granted_rooms(effects.join)) worker_.rooms().join(room, this);
        }
        registry.sessions.add(1);
        connected_changed();
        spdlog::log(session_log_level(), "client connected user={} rooms={}", *effects.user_id,
                    hub::RoomIndex::rooms_of(*this));
    }
    for (const auto& room : effects.leave) worker_.rooms().leave(room, this);
    if (effects.subscription) registry.subscriptions[*effects.subscription].add(1);
    if (effects.hook_query && open_) ask_hook(std::move(*effects.hook_query));
    if (effects.leave_all) {
        worker_.rooms().leave_all(this);
        registry.sessions.add(-1);
        connected_changed();
    }
    for (const auto& text : effects.send) send_text(text);
    if (effects.recover && open_) recover(std::move(*effects.recover));
    if (effects.close && open_) close_for_protocol(*effects.close);
}

void SessionCore::answer_subscription(const std::optional<std::uint64_t>& ack_id,
                                      session::SubscribeOutcome outcome) {
    metrics::registry().subscriptions[outcome].add(1);
    if (ack_id) send_text(session::subscribe_ack(*ack_id, outcome));
}

void SessionCore::ask_hook(session::HookQuery query) {
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
    // Per connection; the worker's hook shares its calls between users (HookSlots).
    if (hooks_in_flight_ >= worker_.context().session.config.max_pending_subscribes) {
        answer_subscription(query.ack_id, SubscribeOutcome::kBusy);
        return;
    }
    ++hooks_in_flight_;
    // The room is copied into the request before the query moves into the callback.
    const std::string room = query.room;
    hook->ask(protocol_.user_id(), room,
              [this, wait = waits_.token(), query = std::move(query)](SubscribeHook::Verdict verdict) {
                  --hooks_in_flight_;
                  // Closed, or a DISCONNECT and another CONNECT since: not for this session.
                  if (!open_ || protocol_.epoch() != query.epoch || !protocol_.connected()) return;
                  const SubscribeOutcome outcome = subscribe_outcome(verdict);
                  if (outcome == SubscribeOutcome::kGrantedHook) worker_.rooms().join(query.room, this);
                  answer_subscription(query.ack_id, outcome);
                  send_queued();
              });
}

bool SessionCore::forward_answer(const std::string& /*client_pid*/, broker::Recovery& /*recovery*/) {
    return false;
}

void SessionCore::recover(session::Recover recover) {
    broker::Broker* broker = worker_.context().broker;
    if (broker == nullptr) {
        send_text(sio::encode_connect("/", random_id()));
        return;
    }
    broker::RecoveryRequest request;
    // The rooms just joined (from the fresh token): the joins happened before this query, so
    // every event numbered after the broker's answer reaches this session live.
    request.rooms = worker_.effects().join;
    request.from = std::move(recover.from);
    request.recovery = recover.recovery;
    request.variant = variant;
    // A replay must fit in the send budget, or the session would be dropped as a slow consumer
    // and come back asking for it again.
    request.max_bytes = worker_.context().limits.max_send_queue_bytes;
    request.per_packet_overhead = SendQueue::kEntryOverhead;
    // Live events meanwhile are held (charged to the budget), then sent after the answer
    // unless it covers them. The local broker answers inline; a remote one later, on
    // another thread: the answer is posted back here.
    deliver_from = hub::Subscriber::kHold;
    // Answered inline, the caller sends what was queued; answered later, this does.
    auto answer = [this, pid = std::move(recover.pid)](broker::Recovery recovery, bool later) {
        if (forward_answer(pid, recovery)) return;
        on_recovered(pid, std::move(recovery));
        if (later && open_) send_queued();
    };
    broker->recover(std::move(request), [this, wait = waits_.token(), answer = std::move(answer)](
                                            broker::Recovery recovery) mutable {
        if (worker_.io().get_executor().running_in_this_thread()) {
            answer(std::move(recovery), false);
            return;
        }
        boost::asio::post(worker_.io(), [wait, answer = std::move(answer),
                                         recovery = std::move(recovery)]() mutable {
            answer(std::move(recovery), true);
        });
    });
}

void SessionCore::on_recovered(const std::string& client_pid, broker::Recovery recovery) {
    // Live events up to the broker's position are in the replay (or lost): skip them.
    deliver_from = client_pid.empty() ? 0 : recovery.now.seq + 1;
    auto held = take_held();
    if (!open_ || !protocol_.connected()) return;
    // A nudge session's resync is a refetch of the lost rooms: spread like an event to them.
    std::string resync_metadata;
    if (const hub::Hub* hub = worker_.context().hub;
        hub != nullptr && variant == hub::Variant::kNudge && !recovery.lost_rooms.empty()) {
        resync_metadata = hub::EncodedEmit::metadata({}, hub->derived_window_ms(recovery.lost_rooms),
                                                      unix_now_ms());
    }
    for (const auto& text : recovery_answer(client_pid, recovery, resync_metadata)) send_text(text);
    for (auto& packet : recovery.replay) enqueue(std::move(packet), false);
    for (auto& event : held) {
        if (event.seq >= deliver_from) enqueue(std::move(event.packet), false);
    }
}

void SessionCore::take_over(SessionCore& from) {
    protocol_ = std::move(from.protocol_);
    variant = from.variant;
    recovers = from.recovers;  // before the caller moves its rooms here
    queue_.splice(from.queue_);
    if (from.deliver_from == kHold) {
        // The broker answers the CONNECT later: the live events held until then come here.
        deliver_from = kHold;
        for (auto& event : from.take_held()) hold(event.seq, std::move(event.packet));
    }
    connected_changed();
}

}  // namespace nudge::net
