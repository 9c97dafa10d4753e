// SessionCore: one client's session whatever its transport (WebSocket or HTTP long-polling),
// on one worker thread. WsConnection and PollingSession derive from it and only move bytes.
//
// The core owns what both transports must do alike, so that a limit set once holds for both:
//   - the Socket.IO protocol state (session::Protocol) and the effects of every input: rooms,
//     granted rooms, the subscribe hook (per-connection slots), connection-state recovery and
//     the live events held while the broker answers a CONNECT;
//   - the send queue and its budget — the one door out: every byte for the client (events,
//     pongs, acks, CONNECT answers, held events) passes enqueue(), which charges it against
//     --max-send-queue (size plus SendQueue::kEntryOverhead per entry). Above the high
//     watermark the transport is told to stop taking input; a client that stays above it for
//     --slow-consumer-timeout, or passes the hard limit, is closed as a slow consumer (inside
//     a fan-out the close is deferred to the end of the batch);
//   - the close bookkeeping: rooms left, gauges and the disconnect reason counted once;
//   - pending asynchronous answers (hook, broker) as PendingWaits tokens.
//
// What the core queues are Engine.IO packets (`42[...]`, `3`, `40{...}`), the same for both
// transports; each frames them as it writes (SendQueue). The transport's interface is small:
// take a fan-out packet directly (staging), push what is queued out, stop/resume reading,
// close. Not thread-safe: used only on its worker's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/common.h>

#include "broker/broker.hpp"
#include "net/connection.hpp"
#include "net/pending_waits.hpp"
#include "net/send_queue.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

class Worker;

class SessionCore : public Connection {
public:
    using Clock = session::Protocol::Clock;

    ~SessionCore() override;
    SessionCore(const SessionCore&) = delete;
    SessionCore& operator=(const SessionCore&) = delete;

    // hub::Subscriber, inside a fan-out.
    void deliver(const hub::Packet& packet) final { enqueue(packet, true); }
    void hold(std::uint64_t seq, hub::Packet packet) final;
    // A Socket.IO DISCONNECT ("io server disconnect": socket.io-client does not reconnect),
    // then a close for kServerDisconnect.
    void disconnect() final;

    [[nodiscard]] const session::Protocol& protocol() const noexcept { return protocol_; }
    // Everything charged to the send budget: queued, staged and held packets.
    [[nodiscard]] std::size_t queued_bytes() const noexcept {
        return queue_.bytes() + staged_bytes + held_bytes() +
               held_count() * SendQueue::kEntryOverhead;
    }

protected:
    explicit SessionCore(Worker& worker);

    // --- The transport -----------------------------------------------------------------
    // A fan-out packet while nothing is queued: true when the transport took it (staged).
    virtual bool take_direct(const hub::Packet& packet) = 0;
    // Hands queued bytes to the client now if it can; false when the transport failed.
    // Never closes (safe inside a fan-out).
    virtual bool push_out() = 0;
    // After input or an answer: push out, closing the session on a transport failure.
    virtual void send_queued() = 0;
    // The queue passed the high watermark: stop taking the client's input.
    virtual void pause_input() {}
    // The protocol ends the session (an Engine.IO close, a protocol error, a deadline).
    virtual void close_for_protocol(session::CloseReason reason) = 0;
    // A CONNECT was accepted or the client left the namespace (the message limit changes).
    virtual void connected_changed() {}
    // The broker answered this session's CONNECT after it moved to another transport: the
    // answer goes there (an upgrade in progress). False: it is for this session.
    virtual bool forward_answer(const std::string& client_pid, broker::Recovery& recovery);

    // --- For the transports ------------------------------------------------------------
    // The one door out. `from_fanout`: inside a fan-out batch, where closing is deferred.
    // `kind`: kWire only for bytes the WebSocket transport framed itself (SendQueue::Kind).
    void enqueue(hub::Packet bytes, bool from_fanout,
                 SendQueue::Kind kind = SendQueue::Kind::kPacket);
    // Queues one Engine.IO packet.
    void send_text(std::string_view text);
    // Moves staged packets (of the current batch) into the queue, after what is there.
    void unstage();
    // Back under the low watermark: true when input may be taken again.
    bool drained_below_low() noexcept;
    // Applies worker_.effects() after a protocol input.
    void apply_effects();
    [[nodiscard]] spdlog::level::level_enum session_log_level() const;
    // The protocol's deadlines (and the slow-consumer deadline), then the effects.
    void tick_session(Clock::time_point now);
    // The bookkeeping of leaving: no more packets, rooms left, gauges and the disconnect
    // reason counted (once: later calls do nothing).
    void leave_session(session::CloseReason reason);
    // The broker's answer to this session's CONNECT, on this thread: [nudge:resync], CONNECT
    // answer, replay, then the held live events it does not cover.
    void on_recovered(const std::string& client_pid, broker::Recovery recovery);
    // Takes over `from`'s protocol state, queue and held events (the Engine.IO upgrade).
    void take_over(SessionCore& from);

    // The small fields first: they fill the tail padding of Connection (Itanium C++ ABI), so a
    // WebSocket connection is no larger than before the core (304 bytes).
    bool open_ = true;               // packets are taken: not yet leaving (nor upgraded away)
    bool above_high_ = false;        // above the high watermark: input paused
    bool close_deferred_ = false;    // a close was requested from inside a fan-out
    std::uint8_t hooks_in_flight_ = 0;  // subscribe-hook questions (--max-pending-subscribes)
    PendingWaits waits_;
    Worker& worker_;
    session::Protocol protocol_;
    SendQueue queue_;
    // While open and above the high watermark: when the client is dropped as a slow consumer.
    // While closing (WebSocket): when TCP is cut.
    Clock::time_point deadline_{};

private:
    // nudge:subscribe without a token: the cache or the hook decides, later.
    void ask_hook(session::HookQuery query);
    void answer_subscription(const std::optional<std::uint64_t>& ack_id,
                             session::SubscribeOutcome outcome);
    // An accepted CONNECT under recovery (or a broker that confirms rooms first).
    void recover(session::Recover recover);
    // Past the budget: close now, or at the end of the batch inside a fan-out.
    void refuse(session::CloseReason reason, bool from_fanout);
};

}  // namespace nudge::net
