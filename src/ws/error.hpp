// Errors of the WebSocket codec: one enum, a message for each, and the close code the
// server answers with (after Boost.Beast's websocket/error.hpp).
#pragma once

#include <string_view>

#include "ws/opcode.hpp"

namespace nudge::ws {

enum class Error {
    kUnmaskedFrame,           // client frame without the mask bit (§5.1)
    kReservedBits,            // RSV1-3 set without a negotiated extension (§5.2)
    kUnknownOpcode,           // opcode 3-7 or 0xB-0xF
    kControlFrameTooLong,     // control payload > 125 bytes (§5.5)
    kFragmentedControlFrame,  // control frame with FIN=0 (§5.5)
    kUnexpectedContinuation,  // continuation frame with no message in progress (§5.4)
    kExpectedContinuation,    // new text/binary frame inside a fragmented message (§5.4)
    kBadLength,               // 64-bit length with the top bit set (non-minimal ones pass)
    kMessageTooBig,           // message larger than the configured maximum
    kInvalidUtf8,             // text message or close reason not UTF-8 (§8.1)
    kBadClosePayload,         // 1-byte close payload or an invalid close code (§5.5.1, §7.4)
};

[[nodiscard]] std::string_view message(Error error) noexcept;
// The close code a server sends when closing because of `error` (1002, 1007 or 1009).
[[nodiscard]] CloseCode close_code(Error error) noexcept;

}  // namespace nudge::ws
