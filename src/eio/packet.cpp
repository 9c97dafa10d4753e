#include "eio/packet.hpp"

#include <fmt/format.h>

#include <optional>

namespace nudge::eio {

Result<Packet, PacketError> decode(std::string_view text) {
    if (text.empty()) return fail(PacketError::kEmpty);
    const char type = text.front();
    if (type < '0' || type > '6') return fail(PacketError::kUnknownType);
    return Packet{static_cast<PacketType>(type), text.substr(1)};
}

std::string encode_open(const OpenInfo& info) {
    // The sid is our own base64url id: no JSON escaping needed.
    return fmt::format(
        R"(0{{"sid":"{}","upgrades":[{}],"pingInterval":{},"pingTimeout":{},"maxPayload":{}}})",
        info.sid, info.can_upgrade ? R"("websocket")" : "", info.ping_interval_ms, info.ping_timeout_ms, info.max_payload);
}

std::string_view message(HandshakeError error) noexcept {
    switch (error) {
        case HandshakeError::kUnknownTransport: return "Transport unknown";
        case HandshakeError::kUnknownSid: return "Session ID unknown";
        case HandshakeError::kBadHandshakeMethod: return "Bad handshake method";
        case HandshakeError::kBadRequest: return "Bad request";
        case HandshakeError::kForbidden: return "Forbidden";
        case HandshakeError::kUnsupportedProtocolVersion: return "Unsupported protocol version";
    }
    return "Bad request";
}

std::string error_body(HandshakeError error) {
    return fmt::format(R"({{"code":{},"message":"{}"}})", static_cast<int>(error), message(error));
}

std::optional<std::string_view> query_param(std::string_view query, std::string_view key) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        if (pair.substr(0, eq) == key) {
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

Result<RequestInfo, HandshakeError> check_request(std::string_view query, std::string_view method,
                                                  bool is_websocket_upgrade) {
    if (query_param(query, "EIO") != "4") return fail(HandshakeError::kUnsupportedProtocolVersion);
    const auto transport = query_param(query, "transport");
    const std::string_view sid = query_param(query, "sid").value_or(std::string_view{});
    if (transport == "websocket") {
        if (!is_websocket_upgrade) return fail(HandshakeError::kBadRequest);
        return RequestInfo{Transport::kWebSocket, sid};
    }
    if (transport != "polling") return fail(HandshakeError::kUnknownTransport);
    if (sid.empty()) {
        if (method != "GET") return fail(HandshakeError::kBadHandshakeMethod);
    } else if (method != "GET" && method != "POST") {
        return fail(HandshakeError::kBadRequest);
    }
    return RequestInfo{Transport::kPolling, sid};
}

}  // namespace nudge::eio
