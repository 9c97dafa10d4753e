#include "ws/utf8.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

namespace nudge::ws {
namespace {

// A slow, obviously correct reference: decode one sequence by the bit patterns of RFC 3629
// §3, then reject what §3/§4 forbid (overlong, surrogate, above U+10FFFF).
bool reference_valid(std::string_view text) {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t length;
        std::uint32_t code;
        if (lead < 0x80) {
            length = 1;
            code = lead;
        } else if ((lead & 0xE0) == 0xC0) {
            length = 2;
            code = lead & 0x1Fu;
        } else if ((lead & 0xF0) == 0xE0) {
            length = 3;
            code = lead & 0x0Fu;
        } else if ((lead & 0xF8) == 0xF0) {
            length = 4;
            code = lead & 0x07u;
        } else {
            return false;
        }
        if (i + length > text.size()) return false;
        for (std::size_t k = 1; k < length; ++k) {
            const auto byte = static_cast<unsigned char>(text[i + k]);
            if ((byte & 0xC0) != 0x80) return false;
            code = (code << 6) | (byte & 0x3Fu);
        }
        const std::uint32_t minimum[] = {0, 0, 0x80, 0x800, 0x10000};
        if (code < minimum[length]) return false;
        if (code >= 0xD800 && code <= 0xDFFF) return false;
        if (code > 0x10FFFF) return false;
        i += length;
    }
    return true;
}

std::string encode(std::uint32_t code) {
    std::string out;
    if (code < 0x80) {
        out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (code >> 18)));
        out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
    return out;
}

TEST(IsValidUtf8, AgreesWithReferenceOnEveryOneTwoAndThreeByteString) {
    std::string text(3, '\0');
    std::size_t mismatches = 0;
    for (std::uint32_t value = 0; value < (1u << 24); ++value) {
        text[0] = static_cast<char>(value >> 16);
        text[1] = static_cast<char>((value >> 8) & 0xFF);
        text[2] = static_cast<char>(value & 0xFF);
        if (is_valid_utf8(text) != reference_valid(text)) ++mismatches;
        if (value < (1u << 16)) {
            const std::string_view two(text.data() + 1, 2);
            if (is_valid_utf8(two) != reference_valid(two)) ++mismatches;
        }
        if (value < (1u << 8)) {
            const std::string_view one(text.data() + 2, 1);
            if (is_valid_utf8(one) != reference_valid(one)) ++mismatches;
        }
    }
    EXPECT_EQ(mismatches, 0u);
}

TEST(IsValidUtf8, AgreesWithReferenceOnFourByteLeads) {
    // Every lead F0-FF with every second byte, the rest fixed continuation or not.
    std::size_t mismatches = 0;
    for (int lead = 0xF0; lead <= 0xFF; ++lead) {
        for (int second = 0; second <= 0xFF; ++second) {
            for (int rest : {0x80, 0xBF, 0x41, 0xC0}) {
                const std::string text{static_cast<char>(lead), static_cast<char>(second),
                                       static_cast<char>(rest), static_cast<char>(0x80)};
                if (is_valid_utf8(text) != reference_valid(text)) ++mismatches;
            }
        }
    }
    EXPECT_EQ(mismatches, 0u);
}

TEST(IsValidUtf8, EveryScalarValueIsValidAndEverySurrogateIsNot) {
    for (std::uint32_t code = 0; code <= 0x10FFFF; ++code) {
        const bool surrogate = code >= 0xD800 && code <= 0xDFFF;
        ASSERT_EQ(is_valid_utf8(encode(code)), !surrogate) << std::hex << code;
    }
    EXPECT_FALSE(is_valid_utf8(encode(0x110000)));
}

TEST(IsValidUtf8, FastPathBoundaries) {
    // Invalid bytes at every position around the 8-byte ASCII stride.
    for (std::size_t at = 0; at < 24; ++at) {
        std::string text(24, 'a');
        EXPECT_TRUE(is_valid_utf8(text));
        text[at] = '\x80';
        EXPECT_FALSE(is_valid_utf8(text)) << at;
        text[at] = '\xC3';
        EXPECT_EQ(is_valid_utf8(text), false) << at;  // followed by 'a' or the end
        if (at + 1 < text.size()) {
            text[at + 1] = '\xA9';
            EXPECT_TRUE(is_valid_utf8(text)) << at;
        }
    }
    EXPECT_TRUE(is_valid_utf8(""));
}

TEST(Utf8PrefixSize, CutsBeforeAPartialCharacter) {
    EXPECT_EQ(utf8_prefix_size("abc", 5), 3u);
    EXPECT_EQ(utf8_prefix_size("abc", 3), 3u);
    EXPECT_EQ(utf8_prefix_size("abc", 2), 2u);
    EXPECT_EQ(utf8_prefix_size("a\xE2\x82\xAC"
                               "b",
                               4),
              4u);
    EXPECT_EQ(utf8_prefix_size("a\xE2\x82\xAC"
                               "b",
                               3),
              1u);
    EXPECT_EQ(utf8_prefix_size("a\xE2\x82\xAC"
                               "b",
                               2),
              1u);
    EXPECT_EQ(utf8_prefix_size("a\xE2\x82\xAC"
                               "b",
                               1),
              1u);
    EXPECT_EQ(utf8_prefix_size("\xF0\x9F\x98\x80", 3), 0u);
    EXPECT_EQ(utf8_prefix_size("abc", 0), 0u);
}

}  // namespace
}  // namespace nudge::ws
