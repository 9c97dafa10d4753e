#include "eio/payload.hpp"

#include <optional>

#include "common/base64.hpp"

namespace nudge::eio {

std::string_view message(PayloadError error) noexcept {
    switch (error) {
        case PayloadError::kEmpty:
            return "empty packet in payload";
        case PayloadError::kUnknownType:
            return "unknown packet type in payload";
        case PayloadError::kBadBase64:
            return "malformed base64 in binary packet";
        case PayloadError::kTooManyPackets:
            return "too many packets in payload";
    }
    return "bad payload";
}

namespace {

bool is_base64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// Standard, padded base64 (what engine.io-parser writes); anything else is refused.
std::optional<std::string> decode_base64(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    std::string url(text.substr(0, text.size() - padding));
    for (char& c : url) {
        if (!is_base64_char(c)) return std::nullopt;
        if (c == '+') {
            c = '-';
        } else if (c == '/') {
            c = '_';
        }
    }
    return base64url_decode(url);
}

}  // namespace

Result<std::vector<PayloadPacket>, PayloadError> decode_payload(std::string_view body,
                                                                std::size_t max_packets) {
    std::vector<PayloadPacket> packets;
    for (;;) {
        const auto cut = body.find(kRecordSeparator);
        const std::string_view packet = body.substr(0, cut);
        if (packet.empty()) return fail(PayloadError::kEmpty);
        if (packets.size() == max_packets) return fail(PayloadError::kTooManyPackets);
        if (packet.front() == 'b') {
            auto bytes = decode_base64(packet.substr(1));
            if (!bytes) return fail(PayloadError::kBadBase64);
            packets.push_back(PayloadPacket{true, std::move(*bytes)});
        } else if (packet.front() >= '0' && packet.front() <= '6') {
            packets.push_back(PayloadPacket{false, std::string(packet)});
        } else {
            return fail(PayloadError::kUnknownType);
        }
        if (cut == std::string_view::npos) break;
        body.remove_prefix(cut + 1);
    }
    return packets;
}

void append_text_packet(std::string& payload, std::string_view packet) {
    if (!payload.empty()) payload.push_back(kRecordSeparator);
    payload.append(packet);
}

void append_binary_packet(std::string& payload, std::string_view bytes) {
    if (!payload.empty()) payload.push_back(kRecordSeparator);
    payload.push_back('b');
    payload.append(base64_encode(bytes));
}

}  // namespace nudge::eio
