// PollingSession: one client's Engine.IO session on HTTP long-polling (Engine.IO v4,
// "HTTP long-polling" transport), on one worker thread.
//
// The session is SessionCore's, as a WebSocket client's is (protocol, effects, the send budget
// and its one door out, close bookkeeping); this class is the long-polling transport, without
// a socket of its own. It is charged to admission (per address, connect rate) and to
// --max-polling-sessions by the HttpConnection that opens it. Its bytes travel on HTTP requests:
//   - GET: answered at once with everything queued (packets separated by 0x1E), or held until
//     something is queued — a ping at the latest, every --ping-interval. One GET at a time:
//     a second one while one is held closes the session (the held one gets the close packet
//     `1`, the second a 400), as Engine.IO does. A held GET whose client goes away closes
//     the session too.
//   - POST: a payload of client packets, fed to the protocol; answered "ok".
// Fan-out packets are the hub's shared Engine.IO packets: the queue holds them as they are and
// a GET answer joins them into one payload (no encoding per recipient, nothing to unwrap).
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
#include "net/poll_request.hpp"
#include "net/session_core.hpp"
#include "session/protocol.hpp"

namespace nudge::net {

class Worker;

class PollingSession final : public SessionCore {
  public:
    // `ip_key`: the admission slot the session holds (0: none), given back when it ends.
    PollingSession(Worker& worker, std::uint32_t ip_key);
    ~PollingSession() override;
    PollingSession(const PollingSession&) = delete;
    PollingSession& operator=(const PollingSession&) = delete;

    // Registers a new session with the worker and the directory; returns it and its open
    // packet (the answer to the handshake GET). The caller admitted it (HttpConnection).
    static PollingSession& open(Worker& worker, std::uint32_t ip_key);

    [[nodiscard]] std::string open_packet() const { return protocol_.open_packet(true); }
    [[nodiscard]] std::string_view sid() const noexcept { return protocol_.sid(); }

    // A GET: answered now or held (see above).
    void on_poll(const std::shared_ptr<PollRequest>& request);
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
    // The probe's `5`, after it took the session over (SessionCore::take_over, the rooms):
    // this session ends without a disconnect.
    void end_upgraded();
    // The broker has not answered this session's CONNECT yet (a Redis broker answers later).
    [[nodiscard]] bool awaiting_connect_answer() const noexcept { return deliver_from == kHold; }
    // Upgraded while awaiting it: the answer (client pid, recovery) goes to `to` instead.
    using AnswerForward = std::function<void(const std::string& client_pid, broker::Recovery recovery)>;
    void forward_connect_answer(AnswerForward to) { forward_answer_ = std::move(to); }

    void flush() override;
    void tick(session::Protocol::Clock::time_point now) override;
    void close(session::CloseReason reason) override;
    [[nodiscard]] bool reapable() const noexcept override { return !open_ && waits_.none(); }

    [[nodiscard]] bool is_closed() const noexcept { return !open_; }

  private:
    // SessionCore's transport interface: no staging (a GET answer reads the queue), pushing
    // out answers the held GET.
    bool take_direct(const hub::Packet& /*packet*/) override { return false; }
    bool push_out() override;
    void send_queued() override { push_out(); }
    void close_for_protocol(session::CloseReason reason) override;
    bool forward_answer(const std::string& client_pid, broker::Recovery& recovery) override;

    // Answers the held GET with everything queued.
    void answer_pending();
    [[nodiscard]] std::string take_payload();
    // Gives back the admission slot and the place under --max-polling-sessions.
    void release_admission();
    // Leaves rooms and the directory; answers a held GET with `packet` ("1" or "6"), after
    // what is queued for a server disconnect.
    void end(session::CloseReason reason, std::string_view packet);

    std::shared_ptr<PollRequest> pending_get_;
    Connection* probe_ = nullptr;  // the WebSocket probing this session, if any
    AnswerForward forward_answer_;  // set when upgraded before the broker answered the CONNECT
    std::uint32_t ip_key_;
    bool probed_ = false;  // `2probe` seen: GETs are answered at once (noop if nothing queued)
    bool admitted_ = true;  // holds its admission slot and its place under the session cap
};

}  // namespace nudge::net
