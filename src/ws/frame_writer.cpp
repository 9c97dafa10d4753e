#include "ws/frame_writer.hpp"

#include <array>
#include <cstdint>

#include "ws/utf8.hpp"

namespace nudge::ws {
namespace {

// §5.5: a control payload is at most 125 bytes; a close payload starts with a 2-byte code.
constexpr std::size_t kMaxCloseReason = 125 - 2;

}  // namespace

std::size_t write_header(Opcode opcode, std::size_t payload_size,
                         std::span<char, kMaxHeaderSize> out) noexcept {
    // §5.2: FIN=1, RSV=0, MASK=0 (servers never mask), minimal length encoding.
    out[0] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
    if (payload_size < 126) {
        out[1] = static_cast<char>(payload_size);
        return 2;
    }
    if (payload_size <= 0xFFFF) {
        out[1] = static_cast<char>(126);
        out[2] = static_cast<char>((payload_size >> 8) & 0xFF);
        out[3] = static_cast<char>(payload_size & 0xFF);
        return 4;
    }
    out[1] = static_cast<char>(127);
    const auto size = static_cast<std::uint64_t>(payload_size);
    for (std::size_t i = 0; i < 8; ++i) {
        out[2 + i] = static_cast<char>((size >> (8 * (7 - i))) & 0xFF);
    }
    return 10;
}

std::string encode_frame(Opcode opcode, std::string_view payload) {
    std::array<char, kMaxHeaderSize> header{};
    const std::size_t header_size = write_header(opcode, payload.size(), header);
    std::string frame;
    frame.reserve(header_size + payload.size());
    frame.append(header.data(), header_size);
    frame.append(payload);
    return frame;
}

std::string encode_close(CloseCode code, std::string_view reason) {
    // 1005 means "no status code present" (§7.4.1): it is expressed by an empty payload.
    if (code == CloseCode::kNoStatus) return encode_frame(Opcode::kClose, {});
    reason = reason.substr(0, utf8_prefix_size(reason, kMaxCloseReason));
    const auto value = static_cast<std::uint16_t>(code);
    std::string payload;
    payload.reserve(2 + reason.size());
    payload.push_back(static_cast<char>(value >> 8));
    payload.push_back(static_cast<char>(value & 0xFF));
    payload.append(reason);
    return encode_frame(Opcode::kClose, payload);
}

}  // namespace nudge::ws
