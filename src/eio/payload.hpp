// Engine.IO v4 HTTP long-polling payloads: several packets in one HTTP body, separated by
// the record separator 0x1E; a binary packet is `b` followed by its base64 (RFC 4648 §4,
// padded). Pure codec: bytes in, packets or bytes out, no I/O (Engine.IO v4 protocol,
// "Payload" section). Thread-safe (no state).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace nudge::eio {

inline constexpr char kRecordSeparator = '\x1e';

struct PayloadPacket {
    bool binary = false;
    // Text packets: the packet as it would arrive in one WebSocket text message (type digit
    // first). Binary packets: the decoded bytes (a WebSocket binary message's payload).
    std::string data;
};

enum class PayloadError {
    kEmpty,          // an empty body or an empty packet between separators
    kUnknownType,    // a text packet not led by a digit 0-6
    kBadBase64,      // a `b` packet whose base64 is malformed
    kTooManyPackets  // more packets than the caller allows
};

[[nodiscard]] std::string_view message(PayloadError error) noexcept;

// Splits and decodes a POST body. Every packet is checked before any is returned, so a
// malformed body is refused whole (the session is then closed, as Engine.IO does).
[[nodiscard]] Result<std::vector<PayloadPacket>, PayloadError> decode_payload(
    std::string_view body, std::size_t max_packets = 4096);

// Appends one packet to a payload being built for a GET answer (a separator first unless
// `payload` is empty). Binary data is written as `b` + base64.
void append_text_packet(std::string& payload, std::string_view packet);
void append_binary_packet(std::string& payload, std::string_view bytes);

}  // namespace nudge::eio
