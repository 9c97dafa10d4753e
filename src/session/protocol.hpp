// Protocol: one client's Engine.IO v4 + Socket.IO v5 state machine, without any I/O.
//
// The connection (net/) feeds it complete WebSocket messages and a periodic tick; it answers
// with Effects: packets to send, rooms to join or leave, and whether to close and why. This
// keeps every protocol decision unit-testable without sockets or timers.
//
// Lifecycle: open (Engine.IO open packet sent) → awaiting CONNECT → connected to "/" →
// closed. Only the main namespace exists; other namespaces get CONNECT_ERROR "Invalid
// namespace". Client-sent events are never relayed (sockets notify, the API publishes);
// an event carrying an ack id is acknowledged so client code awaiting it never hangs.
//
// Strictness follows the Socket.IO v5 spec and the official server: a packet whose payload
// has the wrong shape (sio::payload_valid), any packet other than CONNECT for a namespace the
// client is not connected to (including a first packet that is not a CONNECT), and a second
// CONNECT to "/" close the connection with kProtocolError. A DISCONNECT from "/" restarts the
// connect deadline (at the next tick), so a client may CONNECT again.
//
// Token lifetime: a session whose token has `exp` is closed with kTokenExpired by the first
// tick after exp + the verifier's leeway. That is a transport close without a Socket.IO
// DISCONNECT, so socket.io-client reconnects and asks its auth callback for a fresh token.
//
// Heartbeat (Engine.IO v4 is server-initiated): a ping every ping_interval; a pong must
// arrive within ping_timeout or the session closes. The tick granularity is the caller's
// sweep period (1 s), which the client's own timeout (interval + timeout) easily absorbs.
//
// Not thread-safe: owned by one connection on one worker thread.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "auth/jwt_verifier.hpp"
#include "common/position.hpp"

namespace nudge::session {

struct Config {
    std::chrono::milliseconds ping_interval{25000};
    std::chrono::milliseconds ping_timeout{20000};
    std::chrono::milliseconds connect_timeout{45000};  // Socket.IO's default
    std::uint32_t max_payload = 1000000;
    std::string user_room = "user_{id}";  // "{id}" is replaced by the user id claim
    std::uint32_t max_auth_failures = 3;  // CONNECT attempts refused before the hub hangs up
    // Client-requested rooms (nudge:subscribe with a subscription token or the hook). Off, the
    // session keeps no copy of the user id and those events get the not_relayed ack.
    bool client_subscriptions = true;
    bool subscribe_hook = false;         // a --subscribe-hook is configured (the caller asks it)
    std::size_t max_room_bytes = 256;    // as for rooms in the publish API
    std::uint8_t max_pending_subscribes = 4;  // hook questions in flight per connection
    // A CONNECT without a token is let in (no user room, only anonymous_rooms) instead of
    // being refused with missing_token. A token that fails verification is still refused.
    bool allow_anonymous = false;
    std::vector<std::string> anonymous_rooms;
    // Connection-state recovery: an accepted CONNECT is answered by the caller, with a pid, once
    // the broker says what the session missed (Effects::recover) instead of at once. Off by
    // default, as the flag (--recovery on).
    bool recovery = false;
    // --recovery on: every session recovers. Otherwise (auto) only a session whose CONNECT auth
    // has `recovery: true` or `nudge: 1`; the others see no offset and no pid, as with off.
    bool recovery_for_all = false;
    // The broker confirms the session's rooms before the CONNECT answer (Effects::recover
    // without a position when recovery is off): a Redis broker subscribes to them first, so
    // an event published once the client is connected reaches it.
    bool broker_confirms_connect = false;
};

enum class CloseReason {
    kClientClose,       // Engine.IO close packet or WebSocket close from the client
    kTransportError,    // socket error or EOF
    kPingTimeout,       // no pong within ping_timeout
    kConnectTimeout,    // no Socket.IO CONNECT within connect_timeout
    kProtocolError,     // undecodable or out-of-order packet
    kAuthFailures,      // too many refused CONNECT attempts on one connection
    kPayloadTooLarge,   // message over max_payload
    kSlowConsumer,      // send queue over its bound
    kPartialBudget,     // the process-wide budget for partially received messages ran out
    kServerShutdown,    // SIGTERM/SIGINT
    kTokenExpired,      // the CONNECT token passed exp + leeway
    kServerDisconnect,  // the API disconnected the socket (disconnectSockets, logout everywhere)
    kCount,             // number of reasons above; not a reason
};

// Stable snake_case name, used in logs and as the metric label.
[[nodiscard]] std::string_view to_string(CloseReason reason) noexcept;

// What became of a client's nudge:subscribe / nudge:unsubscribe (metric label).
enum class SubscribeOutcome {
    kGrantedToken,     // a valid subscription token named the room
    kGrantedHook,      // the hook answered 200
    kGrantedCached,    // the hook had answered 200 for this user and room within its cache TTL
    kNoProof,          // no token and no hook configured
    kBadToken,         // the token was refused (signature, expiry, other user or room, no exp)
    kHookRefused,      // the hook answered 403 (or any non-2xx)
    kHookTimeout,      // the hook did not answer within its timeout
    kHookError,        // the hook could not be reached or answered garbage
    kBusy,             // too many hook requests pending (per connection or per worker)
    kBadRequest,       // not {room, token?} with a valid room name
    kUnsubscribed,     // nudge:unsubscribe
    kCount,            // number of outcomes above; not an outcome
};
[[nodiscard]] std::string_view outcome_name(SubscribeOutcome outcome) noexcept;

// The ack payload for a subscribe request: `[{"ok":true}]`, or
// `[{"ok":false,"error":{"code":…,"message":…}}]` with a code derived from the outcome.
[[nodiscard]] std::string subscribe_ack(std::uint64_t ack_id, SubscribeOutcome outcome,
                                        std::string_view message = {});

// A subscription the session could not decide itself: the caller asks the hook, then joins
// `room` and acks if the session is still the one that asked (epoch unchanged).
struct HookQuery {
    std::string room;
    std::optional<std::uint64_t> ack_id;
    std::uint16_t epoch = 0;
};

// Everything the per-client code needs that is shared by all clients of a worker.
struct Context {
    Config config;
    const auth::JwtVerifier* verifier = nullptr;
};

// An accepted CONNECT under connection-state recovery: the caller asks the broker what the
// session missed since `from`, then sends connect_answer(pid) (the client's own pid when
// recovered, a new one otherwise) and the missed events.
struct Recover {
    // The client's position: its pid's, raised to its offset's when that is later in the same
    // epoch. Empty for a new session (no pid in the CONNECT auth). A pid that does not parse
    // gives an epoch no broker has, so the session is resynced rather than silently fresh.
    std::optional<Position> from;
    std::string pid;  // as the client sent it
    // This session recovers (a pid in the answer, offsets on its events). False: the broker
    // only confirms its rooms (broker_confirms_connect) and the answer has no pid.
    bool recovery = true;
};

// How an accepted session takes its events (hub::Variant): with the recovery offset, and with
// nudge's metadata argument (auth.nudge === 1, which implies recovery).
struct EventForm {
    bool offsets = false;
    bool metadata = false;
};

// What the caller must do after an input. Reused across calls: clear() between inputs.
struct Effects {
    std::vector<std::string> send;        // Engine.IO packets (a transport frames each)
    std::vector<std::string> join;        // rooms to join (after an accepted CONNECT)
    bool leave_all = false;               // the client left "/": leave every room
    std::optional<CloseReason> close;     // close the connection after sending `send`
    std::optional<auth::AuthError> auth_failure;  // a refused CONNECT, for metrics/logs
    std::optional<std::string> user_id;   // set when a CONNECT is accepted ("" if anonymous)
    std::vector<std::string> leave;       // rooms to leave (nudge:unsubscribe)
    std::optional<HookQuery> hook_query;  // ask the subscribe hook
    std::optional<SubscribeOutcome> subscription;  // for metrics
    std::optional<Recover> recover;       // set when a CONNECT is accepted with recovery on
    std::optional<EventForm> event_form;  // set when a CONNECT is accepted

    void clear() {
        send.clear();
        join.clear();
        leave_all = false;
        close.reset();
        auth_failure.reset();
        user_id.reset();
        leave.clear();
        hook_query.reset();
        subscription.reset();
        recover.reset();
        event_form.reset();
    }
};

class Protocol {
public:
    using Clock = std::chrono::steady_clock;

    Protocol(const Context& context, Clock::time_point now);

    // The Engine.IO open packet, the first thing the server sends. `can_upgrade`: the
    // session is on HTTP long-polling and may upgrade to WebSocket.
    [[nodiscard]] std::string open_packet(bool can_upgrade = false) const;

    void on_text(std::string_view text, std::chrono::system_clock::time_point wall_now,
                 Effects& out);
    void on_binary(std::string_view data, Effects& out);
    // Heartbeat, connect timeout and token expiry; call about once a second. `wall_now` is
    // compared with the token's exp (a wall-clock time).
    void on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall_now,
                 Effects& out);
    // The same, reading the wall clock only when a token expiry is pending.
    void on_tick(Clock::time_point now, Effects& out);

    [[nodiscard]] bool connected() const noexcept { return connected_; }
    // The connected user (client subscriptions on), else empty.
    [[nodiscard]] std::string_view user_id() const noexcept {
        return user_id_;
    }
    // Changes with every accepted CONNECT and every DISCONNECT: a hook answer for an older
    // session must not join the socket of a newer one.
    [[nodiscard]] std::uint16_t epoch() const noexcept { return epoch_; }
    // The CONNECT answer under recovery: `40{"sid":"…","pid":"…"}`.
    [[nodiscard]] static std::string connect_answer(std::string_view pid);
    [[nodiscard]] std::string_view sid() const noexcept { return {sid_.data(), sid_.size()}; }

private:
    void on_socketio(std::string_view text, std::chrono::system_clock::time_point wall_now,
                     Effects& out);
    void on_connect(std::string_view nsp, std::string_view payload,
                    std::chrono::system_clock::time_point wall_now, Effects& out);
    // An accepted CONNECT: answered at once, or through Effects::recover (the broker answers:
    // recovery, or a broker that confirms the rooms first). `auth` is the CONNECT payload.
    void answer_connect(const boost::json::value& auth, Effects& out) const;
    // nudge:subscribe / nudge:unsubscribe; false when the event is neither.
    bool on_subscription(std::string_view payload, std::optional<std::uint64_t> ack_id,
                         std::chrono::system_clock::time_point wall_now, Effects& out);

    const Context* context_;
    std::array<char, 20> sid_{};  // inline, no heap: idle memory matters
    std::uint32_t pending_attachments_ = 0;  // beside sid_: in what would be padding
    Clock::time_point next_ping_;
    Clock::time_point pong_deadline_;  // meaningful while awaiting_pong_
    Clock::time_point connect_deadline_;
    // exp + leeway of the accepted token, seconds since the epoch; kNoExpiry when none.
    std::int64_t token_deadline_ = kNoExpiry;
    // Only with client subscriptions. A std::string, not a pointer to one: the usual short ids
    // stay inline (no allocation per session, which would also sit among the handshake's).
    std::string user_id_;
    std::uint16_t epoch_ = 0;
    std::uint8_t auth_failures_ = 0;
    bool awaiting_pong_ = false;
    bool connected_ = false;
    bool restart_connect_deadline_ = false;  // a DISCONNECT arrived; set at the next tick

    static constexpr std::int64_t kNoExpiry = INT64_MAX;
};

}  // namespace nudge::session
