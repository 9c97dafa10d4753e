// The server side of the WebSocket opening handshake (RFC 6455 §4.2): request checks and
// the Sec-WebSocket-Accept value. Pure functions; the HTTP parsing itself is Beast's.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace nudge::ws {

// The header values of an upgrade request, as received (any may be empty when absent).
struct UpgradeRequest {
    std::string_view method;      // must be GET
    std::string_view upgrade;     // must contain the token "websocket" (case-insensitive)
    std::string_view connection;  // comma list that must contain "upgrade" (case-insensitive)
    std::string_view key;         // Sec-WebSocket-Key: base64 of 16 bytes
    std::string_view version;     // Sec-WebSocket-Version: must be "13"
};

enum class HandshakeError { kNotGet, kNotUpgrade, kBadKey, kBadVersion };

[[nodiscard]] std::string_view message(HandshakeError error) noexcept;

// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), §4.2.2.
[[nodiscard]] std::string accept_key(std::string_view key);

// Validates the request and returns the Sec-WebSocket-Accept value to answer with.
[[nodiscard]] Result<std::string, HandshakeError> check_upgrade(const UpgradeRequest& request);

}  // namespace nudge::ws
