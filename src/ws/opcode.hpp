// WebSocket opcodes (RFC 6455 §5.2) and close codes (§7.4.1).
#pragma once

#include <cstdint>

namespace nudge::ws {

enum class Opcode : std::uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

enum class CloseCode : std::uint16_t {
    kNormal = 1000,
    kGoingAway = 1001,
    kProtocolError = 1002,
    kUnsupportedData = 1003,
    kNoStatus = 1005,  // never sent on the wire
    kInvalidPayload = 1007,
    kPolicyViolation = 1008,
    kMessageTooBig = 1009,
    kInternalError = 1011,
};

}  // namespace nudge::ws
