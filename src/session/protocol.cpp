#include "session/protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <algorithm>
#include <cstring>
#include <fmt/format.h>

#include "common/random_id.hpp"
#include "eio/packet.hpp"
#include "sio/packet.hpp"

namespace nudge::session {

namespace json = boost::json;

std::string_view to_string(CloseReason reason) noexcept {
    switch (reason) {
        case CloseReason::kClientClose: return "client_close";
        case CloseReason::kTransportError: return "transport_error";
        case CloseReason::kPingTimeout: return "ping_timeout";
        case CloseReason::kConnectTimeout: return "connect_timeout";
        case CloseReason::kProtocolError: return "protocol_error";
        case CloseReason::kAuthFailures: return "auth_failures";
        case CloseReason::kPayloadTooLarge: return "payload_too_large";
        case CloseReason::kSlowConsumer: return "slow_consumer";
        case CloseReason::kPartialBudget: return "partial_budget";
        case CloseReason::kServerShutdown: return "server_shutdown";
        case CloseReason::kTokenExpired: return "token_expired";
        case CloseReason::kServerDisconnect: return "server_disconnect";
        case CloseReason::kCount: break;
    }
    return "unknown";
}

std::string_view outcome_name(SubscribeOutcome outcome) noexcept {
    switch (outcome) {
        case SubscribeOutcome::kGrantedToken: return "granted_token";
        case SubscribeOutcome::kGrantedHook: return "granted_hook";
        case SubscribeOutcome::kGrantedCached: return "granted_cached";
        case SubscribeOutcome::kNoProof: return "no_proof";
        case SubscribeOutcome::kBadToken: return "bad_token";
        case SubscribeOutcome::kHookRefused: return "hook_refused";
        case SubscribeOutcome::kHookTimeout: return "hook_timeout";
        case SubscribeOutcome::kHookError: return "hook_error";
        case SubscribeOutcome::kBusy: return "busy";
        case SubscribeOutcome::kBadRequest: return "bad_request";
        case SubscribeOutcome::kUnsubscribed: return "unsubscribed";
        case SubscribeOutcome::kCount: break;
    }
    return "unknown";
}

std::string subscribe_ack(std::uint64_t ack_id, SubscribeOutcome outcome, std::string_view message) {
    std::string_view code;
    std::string_view fallback;
    switch (outcome) {
        case SubscribeOutcome::kGrantedToken:
        case SubscribeOutcome::kGrantedHook:
        case SubscribeOutcome::kGrantedCached:
        case SubscribeOutcome::kUnsubscribed:
        case SubscribeOutcome::kCount:
            return sio::encode_ack("/", ack_id, R"([{"ok":true}])");
        case SubscribeOutcome::kNoProof:
            code = "forbidden";
            fallback = "this room needs proof: a subscription token for it";
            break;
        case SubscribeOutcome::kBadToken:
            code = "bad_token";
            fallback = "the subscription token was refused";
            break;
        case SubscribeOutcome::kHookRefused:
            code = "forbidden";
            fallback = "the backend refused this subscription";
            break;
        case SubscribeOutcome::kHookTimeout:
            code = "hook_timeout";
            fallback = "the backend did not answer in time; try again";
            break;
        case SubscribeOutcome::kHookError:
            code = "hook_error";
            fallback = "the backend could not be asked; try again";
            break;
        case SubscribeOutcome::kBusy:
            code = "busy";
            fallback = "too many subscriptions pending; try again";
            break;
        case SubscribeOutcome::kBadRequest:
            code = "bad_request";
            fallback = "expected {room: string, token?: string}";
            break;
    }
    json::object error;
    error["code"] = code;
    error["message"] = message.empty() ? fallback : message;
    json::object answer;
    answer["ok"] = false;
    answer["error"] = std::move(error);
    json::array args;
    args.emplace_back(std::move(answer));
    return sio::encode_ack("/", ack_id, json::serialize(args));
}

namespace {

constexpr std::string_view kSubscribeEvent = R"(["nudge:subscribe")";
constexpr std::string_view kUnsubscribeEvent = R"(["nudge:unsubscribe")";

// Acknowledgement for client events: nudge does not relay them (sockets notify only), and
// says so in the ack so a client awaiting it learns why nothing happened.
constexpr std::string_view kNotRelayedAck =
    R"([{"error":"not_relayed","message":"nudge does not relay client events; publish through the HTTP API"}])";

std::string room_for_user(std::string_view tmpl, std::string_view user_id) {
    std::string room(tmpl);
    const auto at = room.find("{id}");
    if (at != std::string::npos) room.replace(at, 4, user_id);
    return room;
}

}  // namespace

Protocol::Protocol(const Context& context, Clock::time_point now)
    : context_(&context),
      next_ping_(now + context.config.ping_interval),
      connect_deadline_(now + context.config.connect_timeout) {
    const std::string id = random_id();
    std::memcpy(sid_.data(), id.data(), sid_.size());
}

std::string Protocol::open_packet(bool can_upgrade) const {
    const Config& config = context_->config;
    return eio::encode_open({sid(), static_cast<std::uint32_t>(config.ping_interval.count()),
                             static_cast<std::uint32_t>(config.ping_timeout.count()),
                             config.max_payload, can_upgrade});
}

void Protocol::answer_connect(const json::value& auth, Effects& out) const {
    const Config& config = context_->config;
    const auto* fields = auth.if_object();
    // Opting in per connection (docs/delivery.md): only these exact values count, so an app's
    // own auth fields of the same names but other types change nothing.
    auto field_is = [&](std::string_view name, auto&& test) {
        const json::value* value = fields != nullptr ? fields->if_contains(name) : nullptr;
        return value != nullptr && test(*value);
    };
    const bool nudge = field_is("nudge", [](const json::value& v) {
        return (v.is_int64() && v.get_int64() == 1) || (v.is_uint64() && v.get_uint64() == 1) ||
               (v.is_double() && v.get_double() == 1.0);
    });
    const bool asks = nudge || field_is("recovery", [](const json::value& v) {
                          return v.is_bool() && v.get_bool();
                      });
    const bool recovers = config.recovery && (config.recovery_for_all || asks);
    out.event_form = EventForm{recovers, nudge};
    if (!recovers && !config.broker_confirms_connect) {
        out.send.push_back(sio::encode_connect("/", random_id()));
        return;
    }
    Recover recover;
    recover.recovery = recovers;
    const auto* pid = fields != nullptr ? fields->if_contains("pid") : nullptr;
    if (recovers && pid != nullptr && pid->is_string()) {
        const json::string& text = pid->get_string();
        recover.pid.assign(text.data(), text.size());
        recover.from = parse_pid(recover.pid).value_or(Position{});
        const auto* offset = fields->if_contains("offset");
        if (offset && offset->is_string()) {
            const json::string& o = offset->get_string();
            auto at = parse_offset(std::string_view(o.data(), o.size()));
            if (at && at->epoch == recover.from->epoch && at->seq > recover.from->seq) {
                recover.from->seq = at->seq;
            }
        }
    }
    out.recover = std::move(recover);
}

std::string Protocol::connect_answer(std::string_view pid) {
    return sio::encode_connect("/", random_id(), pid);
}

void Protocol::on_text(std::string_view text, std::chrono::system_clock::time_point wall_now,
                       Effects& out) {
    auto packet = eio::decode(text);
    if (!packet) {
        out.close = CloseReason::kProtocolError;
        return;
    }
    switch (packet->type) {
        case eio::PacketType::kPong:
            awaiting_pong_ = false;
            return;
        case eio::PacketType::kPing:
            // v4 clients do not ping, but answering costs nothing and mirrors engine.io.
            out.send.push_back(std::string("3").append(packet->data));
            return;
        case eio::PacketType::kClose:
            out.close = CloseReason::kClientClose;
            return;
        case eio::PacketType::kMessage:
            on_socketio(packet->data, wall_now, out);
            return;
        case eio::PacketType::kUpgrade:
        case eio::PacketType::kNoop:
            return;
        case eio::PacketType::kOpen:
            out.close = CloseReason::kProtocolError;
            return;
    }
}

void Protocol::on_binary(std::string_view /*data*/, Effects& out) {
    // Binary messages are attachments of a BINARY_EVENT/BINARY_ACK; nothing is relayed, so
    // they are only counted off. One that no packet announced is a protocol error.
    if (pending_attachments_ == 0) {
        out.close = CloseReason::kProtocolError;
        return;
    }
    --pending_attachments_;
}

void Protocol::on_tick(Clock::time_point now, Effects& out) {
    on_tick(now,
            token_deadline_ == kNoExpiry ? std::chrono::system_clock::time_point{}
                                         : std::chrono::system_clock::now(),
            out);
}

void Protocol::on_tick(Clock::time_point now, std::chrono::system_clock::time_point wall_now,
                       Effects& out) {
    if (restart_connect_deadline_) {
        restart_connect_deadline_ = false;
        connect_deadline_ = now + context_->config.connect_timeout;
    }
    // A session that never CONNECTed ends for that, whatever else is late: it is how a flood
    // of sessions opened and left idle shows in the disconnect reasons.
    if (!connected_ && now >= connect_deadline_) {
        out.close = CloseReason::kConnectTimeout;
        return;
    }
    if (awaiting_pong_ && now >= pong_deadline_) {
        out.close = CloseReason::kPingTimeout;
        return;
    }
    // Same rule as the verifier: expired once now > exp + leeway.
    if (connected_ && token_deadline_ != kNoExpiry &&
        wall_now > std::chrono::system_clock::time_point(std::chrono::seconds(token_deadline_))) {
        out.close = CloseReason::kTokenExpired;
        return;
    }
    if (!awaiting_pong_ && now >= next_ping_) {
        out.send.emplace_back(eio::kPingPacket);
        awaiting_pong_ = true;
        // From when the ping was due, not from this (slightly late) tick, as Engine.IO's own
        // timers do; but a ping sent very late (a stalled sweep) still gets half the timeout.
        pong_deadline_ = std::max(next_ping_ + context_->config.ping_timeout,
                                  now + context_->config.ping_timeout / 2);
        next_ping_ = now + context_->config.ping_interval;
    }
}

void Protocol::on_socketio(std::string_view text, std::chrono::system_clock::time_point wall_now,
                           Effects& out) {
    auto packet = sio::decode(text);
    if (!packet || pending_attachments_ > 0 || !sio::payload_valid(*packet)) {
        out.close = CloseReason::kProtocolError;
        return;
    }
    // Only a CONNECT may address a namespace the client is not connected to (the official
    // server closes on such a packet: "invalid state"). This also closes a connection whose
    // first Socket.IO packet is not a CONNECT, at once instead of at the connect timeout.
    if (packet->type != sio::PacketType::kConnect && !(connected_ && packet->nsp == "/")) {
        out.close = CloseReason::kProtocolError;
        return;
    }
    switch (packet->type) {
        case sio::PacketType::kConnect:
            on_connect(packet->nsp, packet->payload, wall_now, out);
            return;
        case sio::PacketType::kDisconnect:
            connected_ = false;
            user_id_ = std::string();
            ++epoch_;
            token_deadline_ = kNoExpiry;
            out.leave_all = true;
            // The old deadline has long passed: the client gets a fresh connect_timeout to
            // CONNECT again (set at the next tick, which knows the time).
            restart_connect_deadline_ = true;
            return;
        case sio::PacketType::kBinaryEvent:
        case sio::PacketType::kEvent:
            pending_attachments_ = packet->attachments;
            if (packet->type == sio::PacketType::kEvent && context_->config.client_subscriptions &&
                on_subscription(packet->payload, packet->ack_id, wall_now, out)) {
                return;
            }
            if (packet->ack_id) {
                out.send.push_back(sio::encode_ack("/", *packet->ack_id, kNotRelayedAck));
            }
            return;
        case sio::PacketType::kBinaryAck:
            pending_attachments_ = packet->attachments;
            return;
        case sio::PacketType::kAck:
            return;  // the hub never asks clients for acks; a well-formed stray one is harmless
        case sio::PacketType::kConnectError:
            out.close = CloseReason::kProtocolError;
            return;
    }
}

void Protocol::on_connect(std::string_view nsp, std::string_view payload,
                          std::chrono::system_clock::time_point wall_now, Effects& out) {
    if (nsp != "/") {
        out.send.push_back(sio::encode_connect_error(nsp, "Invalid namespace"));
        return;
    }
    if (connected_) {
        // Socket.IO v5: one CONNECT per namespace; a second one is a protocol violation.
        out.close = CloseReason::kProtocolError;
        return;
    }

    auto refuse = [&](auth::AuthError error) {
        out.auth_failure = error;
        json::object data;
        data["reason"] = auth::reason(error);
        out.send.push_back(sio::encode_connect_error("/", "unauthorized", json::serialize(data)));
        if (++auth_failures_ >= context_->config.max_auth_failures) {
            out.close = CloseReason::kAuthFailures;
        }
    };

    std::string_view token;
    if (!payload.empty()) {
        std::error_code ec;
        const json::value auth = json::parse(json::string_view(payload.data(), payload.size()), ec);
        if (ec || !auth.is_object()) {
            out.close = CloseReason::kProtocolError;
            return;
        }
        if (const auto* value = auth.as_object().if_contains("token"); value && value->is_string()) {
            const json::string& s = value->get_string();
            // `auth` dies at the end of this block; verify now while the view is alive.
            token = std::string_view(s.data(), s.size());
            auto identity = context_->verifier->verify(token, wall_now);
            if (!identity) {
                refuse(identity.error());
                return;
            }
            out.join.push_back(room_for_user(context_->config.user_room, identity->user_id));
            for (auto& room : identity->rooms) out.join.push_back(std::move(room));
            if (context_->config.client_subscriptions) {
                user_id_ = identity->user_id;
            }
            out.user_id = std::move(identity->user_id);
            connected_ = true;
            ++epoch_;
            restart_connect_deadline_ = false;
            if (identity->expires_at) {
                const std::int64_t leeway = context_->verifier->leeway().count();
                token_deadline_ = *identity->expires_at > kNoExpiry - leeway
                                      ? kNoExpiry
                                      : *identity->expires_at + leeway;
            }
            answer_connect(auth, out);
            return;
        }
    }
    if (context_->config.allow_anonymous) {
        // No identity: no user room, only the configured public rooms, no token expiry.
        for (const auto& room : context_->config.anonymous_rooms) out.join.push_back(room);
        out.user_id = std::string();
        connected_ = true;
        restart_connect_deadline_ = false;
        answer_connect(json::value(), out);  // a new session: no position to recover from
        return;
    }
    refuse(auth::AuthError::kMissingToken);
}

bool Protocol::on_subscription(std::string_view payload, std::optional<std::uint64_t> ack_id,
                               std::chrono::system_clock::time_point wall_now, Effects& out) {
    const bool subscribe = payload.starts_with(kSubscribeEvent);
    if (!subscribe && !payload.starts_with(kUnsubscribeEvent)) return false;
    auto answer = [&](SubscribeOutcome outcome, std::string_view message = {}) {
        out.subscription = outcome;
        if (ack_id) out.send.push_back(subscribe_ack(*ack_id, outcome, message));
    };
    // The payload is a valid JSON array (sio::payload_valid); its first element is the name.
    std::error_code ec;
    const json::value parsed = json::parse(json::string_view(payload.data(), payload.size()), ec);
    const json::array* args = ec ? nullptr : parsed.if_array();
    const json::object* request =
        args != nullptr && args->size() >= 2 ? (*args)[1].if_object() : nullptr;
    const json::value* room_value = request != nullptr ? request->if_contains("room") : nullptr;
    const json::string* room = room_value != nullptr ? room_value->if_string() : nullptr;
    if (room == nullptr || room->empty() || room->size() > context_->config.max_room_bytes) {
        answer(SubscribeOutcome::kBadRequest,
               fmt::format("expected {{room: a non-empty string of at most {} bytes, token?: "
                           "string}}",
                           context_->config.max_room_bytes));
        return true;
    }
    const std::string_view name(room->data(), room->size());
    if (!subscribe) {
        out.leave.emplace_back(name);
        answer(SubscribeOutcome::kUnsubscribed);
        return true;
    }
    if (const json::value* token = request->if_contains("token"); token != nullptr) {
        const json::string* text = token->if_string();
        if (text == nullptr) {
            answer(SubscribeOutcome::kBadRequest, "token: must be a string");
            return true;
        }
        auto identity = context_->verifier->verify(std::string_view(text->data(), text->size()), wall_now);
        if (!identity) {
            answer(SubscribeOutcome::kBadToken, auth::reason(identity.error()));
        } else if (identity->user_id != user_id()) {
            answer(SubscribeOutcome::kBadToken, "the token is for another user");
        } else if (identity->room != name) {
            answer(SubscribeOutcome::kBadToken, "the token does not name this room (room claim)");
        } else if (!identity->expires_at) {
            answer(SubscribeOutcome::kBadToken, "a subscription token must expire (exp claim)");
        } else {
            out.join.emplace_back(name);
            answer(SubscribeOutcome::kGrantedToken);
        }
        return true;
    }
    if (context_->config.subscribe_hook) {
        out.hook_query = HookQuery{std::string(name), ack_id, epoch_};
        return true;
    }
    answer(SubscribeOutcome::kNoProof);
    return true;
}

}  // namespace nudge::session
