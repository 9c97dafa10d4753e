#include "session/protocol.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstring>

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
        case CloseReason::kCount: break;
    }
    return "unknown";
}

namespace {

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

std::string Protocol::open_packet() const {
    const Config& config = context_->config;
    return eio::encode_open({sid(), static_cast<std::uint32_t>(config.ping_interval.count()),
                             static_cast<std::uint32_t>(config.ping_timeout.count()),
                             config.max_payload});
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
    if (awaiting_pong_ && now >= pong_deadline_) {
        out.close = CloseReason::kPingTimeout;
        return;
    }
    if (!connected_ && now >= connect_deadline_) {
        out.close = CloseReason::kConnectTimeout;
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
        pong_deadline_ = now + context_->config.ping_timeout;
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
            token_deadline_ = kNoExpiry;
            out.leave_all = true;
            // The old deadline has long passed: the client gets a fresh connect_timeout to
            // CONNECT again (set at the next tick, which knows the time).
            restart_connect_deadline_ = true;
            return;
        case sio::PacketType::kBinaryEvent:
        case sio::PacketType::kEvent:
            pending_attachments_ = packet->attachments;
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
            out.user_id = std::move(identity->user_id);
            connected_ = true;
            restart_connect_deadline_ = false;
            if (identity->expires_at) {
                const std::int64_t leeway = context_->verifier->leeway().count();
                token_deadline_ = *identity->expires_at > kNoExpiry - leeway
                                      ? kNoExpiry
                                      : *identity->expires_at + leeway;
            }
            if (!context_->config.recovery) {
                out.send.push_back(sio::encode_connect("/", random_id()));
                return;
            }
            Recover recover;
            if (const auto* pid = auth.as_object().if_contains("pid"); pid && pid->is_string()) {
                const json::string& text = pid->get_string();
                recover.pid.assign(text.data(), text.size());
                recover.from = parse_pid(recover.pid).value_or(Position{});
                const auto* offset = auth.as_object().if_contains("offset");
                if (offset && offset->is_string()) {
                    const json::string& o = offset->get_string();
                    auto at = parse_offset(std::string_view(o.data(), o.size()));
                    if (at && at->epoch == recover.from->epoch && at->seq > recover.from->seq) {
                        recover.from->seq = at->seq;
                    }
                }
            }
            out.recover = std::move(recover);
            return;
        }
    }
    refuse(auth::AuthError::kMissingToken);
}

}  // namespace nudge::session
