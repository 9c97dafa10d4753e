#include "ws/frame_writer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "client_frames.hpp"
#include "ws/frame_parser.hpp"
#include "ws/utf8.hpp"

namespace nudge::ws {
namespace {

using test::bytes;

// Parses a server frame as if a client had sent it (masked) and returns what came out.
test::Outcome parse_back(std::string_view server_frame) {
    return test::run(test::mask_server_frame(server_frame), {}, 1 << 20);
}

TEST(WriteHeader, UsesTheMinimalLengthEncoding) {
    struct Case {
        std::size_t size;
        std::string header;
    };
    const std::vector<Case> cases = {
        {0, bytes({0x82, 0x00})},
        {125, bytes({0x82, 0x7D})},
        {126, bytes({0x82, 0x7E, 0x00, 0x7E})},
        {0xFFFF, bytes({0x82, 0x7E, 0xFF, 0xFF})},
        {0x10000, bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00})},
        {0x0123456789ULL, bytes({0x82, 0x7F, 0, 0, 0, 0x01, 0x23, 0x45, 0x67, 0x89})},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.size);
        std::array<char, kMaxHeaderSize> out{};
        const std::size_t used = write_header(Opcode::kBinary, c.size, out);
        EXPECT_EQ(std::string(out.data(), used), c.header);
        EXPECT_EQ(header_size(c.size), used);
    }
}

TEST(WriteHeader, SetsFinAndOpcode) {
    for (Opcode opcode :
         {Opcode::kText, Opcode::kBinary, Opcode::kClose, Opcode::kPing, Opcode::kPong}) {
        std::array<char, kMaxHeaderSize> out{};
        ASSERT_EQ(write_header(opcode, 3, out), 2u);
        EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x80 | test::op(opcode));
        EXPECT_EQ(out[1], 3);
    }
}

TEST(EncodeFrame, RfcUnmaskedExamples) {
    // RFC 6455 §5.7.
    EXPECT_EQ(encode_frame(Opcode::kText, "Hello"),
              bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    EXPECT_EQ(encode_frame(Opcode::kPing, "Hello"),
              bytes({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}));
    const std::string payload256(256, 'x');
    EXPECT_EQ(encode_frame(Opcode::kBinary, payload256),
              bytes({0x82, 0x7E, 0x01, 0x00}) + payload256);
    const std::string payload64k(65536, 'y');
    EXPECT_EQ(encode_frame(Opcode::kBinary, payload64k),
              bytes({0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}) + payload64k);
}

TEST(EncodeFrame, RoundTripsThroughTheParser) {
    for (std::size_t size : {0u, 1u, 125u, 126u, 127u, 65535u, 65536u, 70000u}) {
        SCOPED_TRACE(size);
        std::string payload(size, '\0');
        for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(i % 251);
        const test::Outcome outcome = parse_back(encode_frame(Opcode::kBinary, payload));
        EXPECT_FALSE(outcome.error.has_value());
        EXPECT_EQ(outcome.messages, (std::vector<test::Record>{{Opcode::kBinary, payload}}));
    }
}

TEST(EncodeClose, CodeAndReason) {
    EXPECT_EQ(encode_close(CloseCode::kNormal), bytes({0x88, 0x02, 0x03, 0xE8}));
    EXPECT_EQ(encode_close(CloseCode::kMessageTooBig, "big"),
              bytes({0x88, 0x05, 0x03, 0xF1, 'b', 'i', 'g'}));
    EXPECT_EQ(encode_close(CloseCode::kProtocolError, "x"), bytes({0x88, 0x03, 0x03, 0xEA, 'x'}));
}

TEST(EncodeClose, NoStatusIsAnEmptyPayload) {
    // §7.4.1: 1005 is never sent; an empty close payload is how "no status" is said.
    EXPECT_EQ(encode_close(CloseCode::kNoStatus, "ignored"), bytes({0x88, 0x00}));
}

TEST(EncodeClose, LongReasonIsTruncatedTo125BytePayload) {
    const std::string reason(200, 'r');
    const std::string frame = encode_close(CloseCode::kGoingAway, reason);
    ASSERT_EQ(frame.size(), 2u + 125u);
    EXPECT_EQ(frame.substr(0, 4), bytes({0x88, 0x7D, 0x03, 0xE9}));
    EXPECT_EQ(frame.substr(4), reason.substr(0, 123));
    const test::Outcome outcome = parse_back(frame);
    EXPECT_FALSE(outcome.error.has_value());
}

TEST(EncodeClose, ReasonOf123BytesIsKeptWhole) {
    const std::string reason(123, 'r');
    EXPECT_EQ(encode_close(CloseCode::kNormal, reason).substr(4), reason);
}

TEST(EncodeClose, TruncatesOnACharacterBoundary) {
    // A character of each width straddling the 123-byte limit is dropped whole.
    for (std::string_view character : {"\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"}) {
        for (std::size_t before = 120; before <= 123; ++before) {
            SCOPED_TRACE(testing::Message() << character.size() << "-byte char at " << before);
            const std::string reason = std::string(before, 'a') + std::string(character) + "tail";
            const std::string frame = encode_close(CloseCode::kNormal, reason);
            const std::string kept = frame.substr(4);
            ASSERT_LE(kept.size(), 123u);
            EXPECT_TRUE(is_valid_utf8(kept));
            const bool fits = before + character.size() <= 123;
            EXPECT_EQ(kept, fits ? reason.substr(0, 123) : std::string(before, 'a'));
            EXPECT_FALSE(parse_back(frame).error.has_value());
        }
    }
}

}  // namespace
}  // namespace nudge::ws
