// PollingSession: one client's Engine.IO session on HTTP long-polling (Engine.IO v4,
// "HTTP long-polling" transport), on one worker thread.
//
// The session is what a WebSocket client's WsConnection is, without a socket of its own: a
// session::Protocol, a SendQueue charged against the same budget (--max-send-queue, the high
// watermark and --slow-consumer-timeout), room memberships, and a place in the worker's
// registry so the sweep drives its heartbeat and deadlines. Its bytes travel on HTTP requests:
//   - GET: answered at once with everything queued (packets separated by 0x1E), or held until
//     something is queued — a ping at the latest, every --ping-interval. One GET at a time:
//     a second one while one is held closes the session (the held one gets the close packet
//     `1`, the second a 400), as Engine.IO does. A held GET whose client goes away closes
//     the session too.
//   - POST: a payload of client packets, fed to the protocol; answered "ok".
// Fan-out frames are the hub's shared WebSocket frames: the queue holds them as they are and
// only a GET answer reads their payloads out (no encoding per recipient).
//
// Upgrade (Engine.IO v4 "Upgrade"): a WebSocket with this sid becomes the probe. On its
// `2probe` the held GET is answered with a noop `6` (and later GETs at once); on its `5` the
// WebSocket takes the protocol state, the queue and the rooms, and this session ends without
// a disconnect. If the probe fails, polling simply continues.
//
// Closing: the session leaves its rooms and the directory at once (a later request for it
// gets 400 "Session ID unknown"), answers a held GET (`6` after the client's own close, or
// when its next request should fail so it reconnects; `1` after an error), and is reaped.
//
// Not thread-safe: used only on its worker's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "broker/broker.hpp"
#include "eio/packet.hpp"
#include "net/connection.hpp"
#include "net/send_queue.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

class HttpConnection;
class Worker;

class PollingSession final : public Connection {
  public:
    explicit PollingSession(Worker& worker);
    ~PollingSession() override;
    PollingSession(const PollingSession&) = delete;
    PollingSession& operator=(const PollingSession&) = delete;

    // Registers a new session with the worker and the directory; returns it and its open
    // packet (the answer to the handshake GET).
    static PollingSession& open(Worker& worker);

    [[nodiscard]] std::string open_packet() const { return protocol_.open_packet(true); }
    [[nodiscard]] std::string_view sid() const noexcept { return protocol_.sid(); }

    // A GET: answered now or held (see above).
    void on_poll(const std::shared_ptr<HttpConnection>& request);
    // The client of the held GET went away.
    void on_poll_aborted();
    // A POST body; the error to answer when it was refused (the session is then closed) or
    // the session was already gone.
    [[nodiscard]] std::optional<eio::HandshakeError> on_post(std::string_view body);
    // A POST over the size limit: the session closes (Engine.IO: "payload too large").
    void on_post_too_large();

    // Upgrade: `probe` is the WebSocket that named this session. False when the session
    // cannot be upgraded (already probing).
    [[nodiscard]] bool attach_probe(Connection& probe);
    [[nodiscard]] bool probing() const noexcept { return probe_ != nullptr; }
    // The probe's `2probe` arrived: release the held GET with a noop.
    void on_probe();
    // The probe went away before `5`: polling goes on.
    void detach_probe() noexcept { probe_ = nullptr; }
    // The probe's `5`: the WebSocket takes over. Moves the protocol and queue out and ends
    // this session without a disconnect (the caller moves the rooms first).
    [[nodiscard]] session::Protocol take_protocol() { return std::move(protocol_); }
    [[nodiscard]] SendQueue& queue() noexcept { return queue_; }
    void end_upgraded();
    // The broker has not answered this session's CONNECT yet (a Redis broker answers later).
    [[nodiscard]] bool awaiting_connect_answer() const noexcept { return deliver_from == kHold; }
    // Upgraded while awaiting it: the answer (client pid, recovery) goes to `to` instead.
    using AnswerForward = std::function<void(const std::string& client_pid, broker::Recovery recovery)>;
    void forward_connect_answer(AnswerForward to) { forward_answer_ = std::move(to); }

    void deliver(const hub::Frame& frame) override;
    // A Socket.IO DISCONNECT in the answer to the held GET, then the session ends.
    void disconnect() override;
    void flush() override;
    void tick(session::Protocol::Clock::time_point now) override;
    void close(session::CloseReason reason) override;
    [[nodiscard]] bool reapable() const noexcept override {
        return closed_ && pending_hooks_ == 0;
    }

    [[nodiscard]] bool is_closed() const noexcept { return closed_; }
    [[nodiscard]] std::size_t queued_bytes() const noexcept { return queue_.bytes(); }
    [[nodiscard]] const session::Protocol& protocol() const noexcept { return protocol_; }

  private:
    void enqueue(hub::Frame frame, bool from_fanout);
    void apply_effects();
    // An accepted CONNECT under recovery: ask the broker what the session missed, then
    // [nudge:resync], the CONNECT answer and the replay (as a WebSocket client gets them).
    void recover(session::Recover recover);
    // nudge:subscribe without a token: the cache or the subscribe hook decides, later.
    void ask_hook(session::HookQuery query);
    void answer_subscription(const std::optional<std::uint64_t>& ack_id,
                             session::SubscribeOutcome outcome);
    // Answers the held GET with everything queued.
    void answer_pending();
    [[nodiscard]] std::string take_payload();
    // Leaves rooms and the directory; answers a held GET with `packet` ("1" or "6").
    void end(session::CloseReason reason, std::string_view packet, bool counted);

    Worker& worker_;
    session::Protocol protocol_;
    SendQueue queue_;
    std::shared_ptr<HttpConnection> pending_get_;
    Connection* probe_ = nullptr;  // the WebSocket probing this session, if any
    AnswerForward forward_answer_;  // set when upgraded before the broker answered the CONNECT
    // Above the high watermark since: dropped as a slow consumer at this deadline.
    session::Protocol::Clock::time_point slow_deadline_{};
    // Hook questions and a recovery query in flight: not reaped before they end.
    std::uint8_t pending_hooks_ = 0;
    bool above_high_ = false;
    bool probed_ = false;  // `2probe` seen: GETs are answered at once (noop if nothing queued)
    bool closed_ = false;
};

}  // namespace nudge::net
