#include "ws/utf8.hpp"

#include <cstdint>
#include <cstring>

namespace nudge::ws {

bool is_valid_utf8(std::string_view text) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* const end = p + text.size();
    while (p != end) {
        // Most payloads (JSON) are ASCII: skip 8 bytes at a time while no high bit is set.
        if (end - p >= 8) {
            std::uint64_t word;
            std::memcpy(&word, p, sizeof word);
            if ((word & 0x8080808080808080ULL) == 0) {
                p += 8;
                continue;
            }
        }
        const unsigned char lead = *p;
        if (lead < 0x80) {
            ++p;
            continue;
        }
        // RFC 3629 §4 (Unicode Table 3-7): the lead byte fixes the sequence length and the
        // range of the first continuation byte, which rules out overlongs (C0, C1, E0 80-9F,
        // F0 80-8F), surrogates (ED A0-BF) and code points above U+10FFFF (F4 90+, F5-FF).
        std::ptrdiff_t continuation = 0;
        unsigned char low = 0x80;
        unsigned char high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            continuation = 1;
        } else if (lead == 0xE0) {
            continuation = 2;
            low = 0xA0;
        } else if (lead == 0xED) {
            continuation = 2;
            high = 0x9F;
        } else if (lead >= 0xE1 && lead <= 0xEF) {
            continuation = 2;
        } else if (lead == 0xF0) {
            continuation = 3;
            low = 0x90;
        } else if (lead >= 0xF1 && lead <= 0xF3) {
            continuation = 3;
        } else if (lead == 0xF4) {
            continuation = 3;
            high = 0x8F;
        } else {
            return false;
        }
        if (end - p <= continuation) return false;
        if (p[1] < low || p[1] > high) return false;
        for (std::ptrdiff_t i = 2; i <= continuation; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
        }
        p += continuation + 1;
    }
    return true;
}

std::size_t utf8_prefix_size(std::string_view text, std::size_t max_size) noexcept {
    if (text.size() <= max_size) return text.size();
    // text[max_size] is the first byte cut off; while it continues a sequence, the cut is
    // inside a character, so move it back to that character's lead byte.
    std::size_t size = max_size;
    while (size > 0 && (static_cast<unsigned char>(text[size]) & 0xC0) == 0x80) --size;
    return size;
}

}  // namespace nudge::ws
