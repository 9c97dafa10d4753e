// Engine.IO v4 packets (one packet per WebSocket message; see payload.hpp for HTTP
// long-polling bodies) and the handshake query checks. Pure codec; see ../shared/protocol.md and the Engine.IO v4 protocol doc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace nudge::eio {

enum class PacketType : char {
    kOpen = '0',
    kClose = '1',
    kPing = '2',
    kPong = '3',
    kMessage = '4',
    kUpgrade = '5',
    kNoop = '6',
};

struct Packet {
    PacketType type;
    std::string_view data;  // the payload after the type character
};

enum class PacketError { kEmpty, kUnknownType };

// A text WebSocket message is one packet: a type digit and its data. (Binary WebSocket
// messages carry raw message data with no type prefix; the caller handles those.)
[[nodiscard]] Result<Packet, PacketError> decode(std::string_view text);

struct OpenInfo {
    std::string_view sid;
    std::uint32_t ping_interval_ms;
    std::uint32_t ping_timeout_ms;
    std::uint32_t max_payload;
    bool can_upgrade = false;  // a polling session: it may upgrade to WebSocket
};

// `0{"sid":"…","upgrades":[…],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`; upgrades is
// ["websocket"] for a polling session, empty for one already on the WebSocket transport.
[[nodiscard]] std::string encode_open(const OpenInfo& info);

inline constexpr std::string_view kPingPacket = "2";
inline constexpr std::string_view kClosePacket = "1";

// Handshake errors, answered with HTTP 400 and `{"code":N,"message":"…"}` (Engine.IO's own
// codes and messages, so clients and tools that know Engine.IO recognise them).
enum class HandshakeError : int {
    kUnknownTransport = 0,
    kUnknownSid = 1,
    kBadHandshakeMethod = 2,
    kBadRequest = 3,
    kForbidden = 4,
    kUnsupportedProtocolVersion = 5,
};

[[nodiscard]] std::string_view message(HandshakeError error) noexcept;
[[nodiscard]] std::string error_body(HandshakeError error);

enum class Transport : std::uint8_t { kPolling, kWebSocket };

struct RequestInfo {
    Transport transport;
    std::string_view sid;  // empty: a new session (a handshake)
};

// Checks a request to the Engine.IO path: its query string (without the leading '?'), its
// method and whether it is a WebSocket upgrade. nudged serves EIO=4 only, on both transports:
// EIO missing or not 4 → kUnsupportedProtocolVersion; transport missing or neither polling
// nor websocket → kUnknownTransport; a WebSocket transport request that is not an upgrade →
// kBadRequest; a polling handshake (no sid) by any method but GET → kBadHandshakeMethod; a
// polling request of a session by any method but GET or POST → kBadRequest. Whether the sid
// names a live session is the caller's business (kUnknownSid).
[[nodiscard]] Result<RequestInfo, HandshakeError> check_request(std::string_view query,
                                                                std::string_view method,
                                                                bool is_websocket_upgrade);

// The value of `key` in an application/x-www-form-urlencoded query; nullopt when absent.
// Not percent-decoded: the values compared against never need it ("4", "websocket", sids).
[[nodiscard]] std::optional<std::string_view> query_param(std::string_view query,
                                                          std::string_view key);

}  // namespace nudge::eio
