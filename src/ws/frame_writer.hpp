// Server-to-client frame encoding (RFC 6455 §5.2): unmasked, FIN=1. Pure functions.
//
// Because server frames are unmasked, a frame's header is a function of its payload's length
// alone: the hub encodes an event's packet once and shares it, and the WebSocket transport
// writes a header in front of the shared payload at write time (net/ws_gather.hpp).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "ws/opcode.hpp"

namespace nudge::ws {

inline constexpr std::size_t kMaxHeaderSize = 10;

// The size of the header write_header() writes for `payload_size` bytes (§5.2's minimal
// length encoding: 7 bits, then 16, then 64).
[[nodiscard]] constexpr std::size_t header_size(std::size_t payload_size) noexcept {
    return payload_size < 126 ? 2 : payload_size <= 0xFFFF ? 4 : 10;
}

// Writes the header for a final, unmasked frame of `payload_size` bytes into `out` and
// returns how many bytes it used (2, 4 or 10).
std::size_t write_header(Opcode opcode, std::size_t payload_size,
                         std::span<char, kMaxHeaderSize> out) noexcept;

// Header followed by payload.
[[nodiscard]] std::string encode_frame(Opcode opcode, std::string_view payload);

// A close frame carrying `code` and a reason (truncated to fit 125 bytes, on a UTF-8
// character boundary).
[[nodiscard]] std::string encode_close(CloseCode code, std::string_view reason = {});

}  // namespace nudge::ws
