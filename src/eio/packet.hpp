// Engine.IO v4 packets over WebSocket (one packet per WebSocket message) and the handshake
// query checks. Pure codec; see ../shared/protocol.md and the Engine.IO v4 protocol doc.
#pragma once

#include <cstdint>
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
};

// `0{"sid":"…","upgrades":[],"pingInterval":…,"pingTimeout":…,"maxPayload":…}`; upgrades is
// empty because the session is already on the WebSocket transport.
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

// Checks the query string of a request to the Engine.IO path (without the leading '?').
// nudged serves only the WebSocket transport on EIO=4, without a prior polling session:
// EIO missing or not 4 → kUnsupportedProtocolVersion; transport missing or not websocket →
// kUnknownTransport; a `sid` (an upgrade from polling) → kUnknownSid; a WebSocket transport
// request that is not an upgrade → kBadRequest.
[[nodiscard]] Result<void, HandshakeError> check_handshake(std::string_view query,
                                                           bool is_websocket_upgrade);

}  // namespace nudge::eio
