#include "ws/frame_parser.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "client_frames.hpp"

namespace nudge::ws {
namespace {

using test::bytes;
using test::kFin;
using test::masked_frame;
using test::op;
using test::Outcome;
using test::Record;

constexpr std::size_t kMax = 1 << 20;

// Cut points for one split at every offset; long inputs get every offset near both ends
// and a stride through the middle (every offset of 64 KiB would be 4 G bytes parsed).
std::vector<std::size_t> single_cuts(std::size_t size) {
    std::vector<std::size_t> cuts;
    for (std::size_t at = 1; at < size; ++at) {
        if (size <= 4096 || at < 40 || at + 40 > size || at % 997 == 0) cuts.push_back(at);
    }
    return cuts;
}

// STYLE.md: a codec test feeds the input whole, split at every offset (and at every pair
// of offsets when short), and byte by byte; every way must give the same outcome.
Outcome parse_every_way(std::string_view input, std::size_t max = kMax,
                        std::size_t stop_after = static_cast<std::size_t>(-1)) {
    const Outcome whole = test::run(input, {}, max, stop_after);
    for (std::size_t at : single_cuts(input.size())) {
        EXPECT_EQ(test::run(input, {at}, max, stop_after), whole) << "split at " << at;
    }
    if (input.size() <= 64) {
        for (std::size_t a = 1; a < input.size(); ++a) {
            for (std::size_t b = a + 1; b < input.size(); ++b) {
                EXPECT_EQ(test::run(input, {a, b}, max, stop_after), whole)
                    << "split at " << a << " and " << b;
            }
        }
    }
    std::vector<std::size_t> every;
    for (std::size_t at = 1; at < input.size(); ++at) every.push_back(at);
    EXPECT_EQ(test::run(input, every, max, stop_after), whole) << "byte by byte";
    return whole;
}

Outcome expect_messages(std::string_view input, const std::vector<Record>& expected) {
    const Outcome outcome = parse_every_way(input);
    EXPECT_FALSE(outcome.error.has_value()) << message(*outcome.error);
    EXPECT_EQ(outcome.messages, expected);
    EXPECT_TRUE(outcome.idle);
    return outcome;
}

void expect_error(std::string_view input, Error expected, std::size_t max = kMax) {
    const Outcome outcome = parse_every_way(input, max);
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(*outcome.error, expected) << message(*outcome.error);
}

std::string pattern(std::size_t size) {
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7 + 3) & 0xFF);
    return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string out = bytes({code >> 8, code & 0xFF});
    out.append(reason);
    return out;
}

// --- RFC 6455 §5.7 examples --------------------------------------------------------------

TEST(FrameParser, RfcMaskedHello) {
    expect_messages(bytes({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}),
                    {{Opcode::kText, "Hello"}});
}

TEST(FrameParser, RfcMaskedPong) {
    expect_messages(bytes({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}),
                    {{Opcode::kPong, "Hello"}});
}

TEST(FrameParser, RfcFragmentedTextWithMasks) {
    // §5.7's unmasked "Hel" + "lo", masked with the same key as the other examples.
    const std::string input = bytes({0x01, 0x83, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d,  //
                                     0x80, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5b, 0x95});
    ASSERT_EQ(input, masked_frame(op(Opcode::kText), "Hel") +
                         masked_frame(kFin | op(Opcode::kContinuation), "lo"));
    expect_messages(input, {{Opcode::kText, "Hello"}});
}

TEST(FrameParser, RfcUnmaskedHelloIsRejected) {
    expect_error(bytes({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}), Error::kUnmaskedFrame);
}

TEST(FrameParser, RfcBinary256Bytes) {
    const std::string payload = pattern(256);
    const std::string input = masked_frame(kFin | op(Opcode::kBinary), payload);
    ASSERT_EQ(input.substr(0, 8), bytes({0x82, 0xFE, 0x01, 0x00, 0x37, 0xfa, 0x21, 0x3d}));
    expect_messages(input, {{Opcode::kBinary, payload}});
}

TEST(FrameParser, RfcBinary64KiB) {
    const std::string payload = pattern(65536);
    const std::string input = masked_frame(kFin | op(Opcode::kBinary), payload);
    ASSERT_EQ(input.substr(0, 14), bytes({0x82, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                                          0x00, 0x37, 0xfa, 0x21, 0x3d}));
    expect_messages(input, {{Opcode::kBinary, payload}});
}

// --- Messages ------------------------------------------------------------------------------

TEST(FrameParser, UnmasksWithEveryMaskPhase) {
    // 100 bytes cover the 8-byte word loop and the byte tail; splits put every payload
    // offset modulo 4 at the start of a chunk.
    const std::string payload = pattern(100);
    expect_messages(masked_frame(kFin | op(Opcode::kBinary), payload, {0x01, 0x80, 0xFF, 0x5A}),
                    {{Opcode::kBinary, payload}});
}

TEST(FrameParser, EmptyMessagesAndFragments) {
    expect_messages(
        masked_frame(kFin | op(Opcode::kText), "") + masked_frame(kFin | op(Opcode::kBinary), "") +
            masked_frame(op(Opcode::kText), "") + masked_frame(op(Opcode::kContinuation), "") +
            masked_frame(kFin | op(Opcode::kContinuation), "") +
            masked_frame(kFin | op(Opcode::kPing), "") +
            masked_frame(kFin | op(Opcode::kClose), ""),
        {{Opcode::kText, ""},
         {Opcode::kBinary, ""},
         {Opcode::kText, ""},
         {Opcode::kPing, ""},
         {Opcode::kClose, ""}});
}

TEST(FrameParser, SeveralMessagesInOneBuffer) {
    expect_messages(masked_frame(kFin | op(Opcode::kText), "one") +
                        masked_frame(kFin | op(Opcode::kBinary), "two") +
                        masked_frame(kFin | op(Opcode::kPing), "three"),
                    {{Opcode::kText, "one"}, {Opcode::kBinary, "two"}, {Opcode::kPing, "three"}});
}

TEST(FrameParser, ControlFramesInterleavedInFragmentedMessage) {
    expect_messages(masked_frame(op(Opcode::kText), "Hel") +
                        masked_frame(kFin | op(Opcode::kPing), "p1") +
                        masked_frame(op(Opcode::kContinuation), "l") +
                        masked_frame(kFin | op(Opcode::kPong), "") +
                        masked_frame(kFin | op(Opcode::kPing), "p2") +
                        masked_frame(kFin | op(Opcode::kContinuation), "o!") +
                        masked_frame(kFin | op(Opcode::kBinary), "next"),
                    {{Opcode::kPing, "p1"},
                     {Opcode::kPong, ""},
                     {Opcode::kPing, "p2"},
                     {Opcode::kText, "Hello!"},
                     {Opcode::kBinary, "next"}});
}

TEST(FrameParser, CloseFrameInsideFragmentedMessage) {
    expect_messages(masked_frame(op(Opcode::kBinary), "ab") +
                        masked_frame(kFin | op(Opcode::kClose), close_payload(1000, "bye")) +
                        masked_frame(kFin | op(Opcode::kContinuation), "cd"),
                    {{Opcode::kClose, close_payload(1000, "bye")}, {Opcode::kBinary, "abcd"}});
}

TEST(FrameParser, LargeFragmentedMessage) {
    const std::string payload = pattern(3000);
    expect_messages(masked_frame(op(Opcode::kBinary), payload.substr(0, 1000)) +
                        masked_frame(kFin | op(Opcode::kPing), "x") +
                        masked_frame(op(Opcode::kContinuation), payload.substr(1000, 1500)) +
                        masked_frame(kFin | op(Opcode::kContinuation), payload.substr(2500)),
                    {{Opcode::kPing, "x"}, {Opcode::kBinary, payload}});
}

TEST(FrameParser, NonMinimalLengthEncodingIsAccepted) {
    // §5.2 asks senders for the minimal encoding; receiving a longer one is harmless.
    expect_messages(bytes({0x82, 0xFE, 0x00, 0x02, 0, 0, 0, 0, 'h', 'i'}) +
                        bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 'x'}),
                    {{Opcode::kBinary, "hi"}, {Opcode::kBinary, "x"}});
}

TEST(FrameParser, MessageOfExactlyMaxSizeIsAccepted) {
    const Outcome outcome =
        parse_every_way(masked_frame(op(Opcode::kText), "12345") +
                            masked_frame(kFin | op(Opcode::kContinuation), "67"),
                        7);
    EXPECT_FALSE(outcome.error.has_value());
    EXPECT_EQ(outcome.messages, (std::vector<Record>{{Opcode::kText, "1234567"}}));
}

TEST(FrameParser, Utf8CharacterSplitAcrossFragmentsIsValid) {
    // "€" (E2 82 AC) cut between two fragments: validity is a property of the message.
    expect_messages(masked_frame(op(Opcode::kText), "a\xE2\x82") +
                        masked_frame(kFin | op(Opcode::kContinuation),
                                     "\xAC"
                                     "b"),
                    {{Opcode::kText,
                      "a\xE2\x82\xAC"
                      "b"}});
}

TEST(FrameParser, BinaryMessagesAreNotUtf8Checked) {
    expect_messages(masked_frame(kFin | op(Opcode::kBinary), "\xFF\xC0\x80"),
                    {{Opcode::kBinary, "\xFF\xC0\x80"}});
}

TEST(FrameParser, ValidCloseCodes) {
    for (std::uint16_t code :
         std::initializer_list<std::uint16_t>{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011,
                                              1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
        SCOPED_TRACE(code);
        const std::string payload = close_payload(code, "r\xC3\xA9sum\xC3\xA9");
        expect_messages(masked_frame(kFin | op(Opcode::kClose), payload),
                        {{Opcode::kClose, payload}});
        expect_messages(masked_frame(kFin | op(Opcode::kClose), close_payload(code)),
                        {{Opcode::kClose, close_payload(code)}});
    }
}

TEST(FrameParser, ControlPayloadOf125BytesIsAccepted) {
    const std::string payload = pattern(125);
    expect_messages(masked_frame(kFin | op(Opcode::kPing), payload), {{Opcode::kPing, payload}});
}

// --- Zero copy and state -------------------------------------------------------------------

bool points_into(std::string_view view, const std::vector<char>& buffer) {
    return view.data() >= buffer.data() &&
           view.data() + view.size() <= buffer.data() + buffer.size();
}

TEST(FrameParser, CompleteFramesAreViewsIntoTheCallersBuffer) {
    const std::string input = masked_frame(kFin | op(Opcode::kText), "whole") +
                              masked_frame(op(Opcode::kBinary), "frag") +
                              masked_frame(kFin | op(Opcode::kPing), "ping") +
                              masked_frame(kFin | op(Opcode::kContinuation), "mented");
    std::vector<char> buffer(input.begin(), input.end());
    FrameParser parser(kMax);
    std::vector<Record> seen;
    auto result = parser.feed(buffer, [&](const Message& message) {
        EXPECT_TRUE(points_into(message.payload, buffer));
        seen.push_back({message.opcode, std::string(message.payload)});
        return true;
    });
    ASSERT_TRUE(result);
    EXPECT_EQ(seen, (std::vector<Record>{{Opcode::kText, "whole"},
                                         {Opcode::kPing, "ping"},
                                         {Opcode::kBinary, "fragmented"}}));
}

TEST(FrameParser, IdleOnlyBetweenMessages) {
    const std::string frame = masked_frame(kFin | op(Opcode::kText), "Hello");
    const std::string first = masked_frame(op(Opcode::kText), "Hel");
    FrameParser parser(kMax);
    auto ignore = [](const Message&) { return true; };
    EXPECT_TRUE(parser.idle());

    std::vector<char> head(frame.begin(), frame.begin() + 1);  // one header byte
    ASSERT_TRUE(parser.feed(head, ignore));
    EXPECT_FALSE(parser.idle());
    std::vector<char> middle(frame.begin() + 1, frame.begin() + 8);  // header and some payload
    ASSERT_TRUE(parser.feed(middle, ignore));
    EXPECT_FALSE(parser.idle());
    std::vector<char> tail(frame.begin() + 8, frame.end());
    ASSERT_TRUE(parser.feed(tail, ignore));
    EXPECT_TRUE(parser.idle());

    std::vector<char> fragment(first.begin(), first.end());  // a whole non-final fragment
    ASSERT_TRUE(parser.feed(fragment, ignore));
    EXPECT_FALSE(parser.idle());
    const std::string last = masked_frame(kFin | op(Opcode::kContinuation), "lo");
    std::vector<char> rest(last.begin(), last.end());
    ASSERT_TRUE(parser.feed(rest, ignore));
    EXPECT_TRUE(parser.idle());
}

TEST(FrameParser, CallbackReturningFalseStopsParsing) {
    const std::string input = masked_frame(kFin | op(Opcode::kClose), close_payload(1000)) +
                              masked_frame(kFin | op(Opcode::kText), "after") +
                              bytes({0x81, 0x00});  // would be an error if parsed
    const Outcome outcome = parse_every_way(input, kMax, 1);
    EXPECT_FALSE(outcome.error.has_value());
    EXPECT_EQ(outcome.messages, (std::vector<Record>{{Opcode::kClose, close_payload(1000)}}));
    EXPECT_TRUE(outcome.idle);
}

TEST(FrameParser, StopInsideFragmentedMessageKeepsItsStart) {
    // The first buffer holds a fragment (joined in place) and a ping; stopping at the ping
    // discards the rest of that buffer, which is then freed. The fragment must survive.
    const std::string first = masked_frame(op(Opcode::kText), "Hel") +
                              masked_frame(kFin | op(Opcode::kPing), "p") + "discarded";
    const std::string second = masked_frame(kFin | op(Opcode::kContinuation), "lo");
    FrameParser parser(kMax);
    std::vector<Record> seen;
    {
        std::vector<char> buffer(first.begin(), first.end());
        ASSERT_TRUE(parser.feed(buffer, [&](const Message& message) {
            seen.push_back({message.opcode, std::string(message.payload)});
            return false;
        }));
    }
    EXPECT_FALSE(parser.idle());
    std::vector<char> buffer(second.begin(), second.end());
    ASSERT_TRUE(parser.feed(buffer, [&](const Message& message) {
        seen.push_back({message.opcode, std::string(message.payload)});
        return true;
    }));
    EXPECT_EQ(seen, (std::vector<Record>{{Opcode::kPing, "p"}, {Opcode::kText, "Hello"}}));
    EXPECT_TRUE(parser.idle());
}

TEST(FrameParser, ErrorsAreSticky) {
    FrameParser parser(kMax);
    auto ignore = [](const Message&) { return true; };
    std::string bad = bytes({0x81, 0x05, 'H', 'e', 'l', 'l', 'o'});
    std::vector<char> first(bad.begin(), bad.end());
    auto result = parser.feed(first, ignore);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), Error::kUnmaskedFrame);
    const std::string good = masked_frame(kFin | op(Opcode::kText), "ok");
    std::vector<char> second(good.begin(), good.end());
    int delivered = 0;
    result = parser.feed(second, [&](const Message&) {
        ++delivered;
        return true;
    });
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error(), Error::kUnmaskedFrame);
    EXPECT_EQ(delivered, 0);
}

TEST(FrameParser, MessagesBeforeAnErrorAreDelivered) {
    const Outcome outcome = parse_every_way(masked_frame(kFin | op(Opcode::kText), "fine") +
                                            bytes({0xC1, 0x80, 0, 0, 0, 0}));
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(*outcome.error, Error::kReservedBits);
    EXPECT_EQ(outcome.messages, (std::vector<Record>{{Opcode::kText, "fine"}}));
}

// --- Every Error ---------------------------------------------------------------------------

TEST(FrameParserError, UnmaskedFrame) {
    expect_error(bytes({0x82, 0x00}), Error::kUnmaskedFrame);
    expect_error(bytes({0x89, 0x01, 'x'}), Error::kUnmaskedFrame);
}

TEST(FrameParserError, ReservedBits) {
    for (std::uint8_t rsv : std::initializer_list<std::uint8_t>{0x40, 0x20, 0x10, 0x70}) {
        SCOPED_TRACE(rsv);
        expect_error(masked_frame(kFin | rsv | op(Opcode::kText), "x"), Error::kReservedBits);
    }
}

TEST(FrameParserError, UnknownOpcode) {
    for (std::uint8_t opcode :
         std::initializer_list<std::uint8_t>{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        SCOPED_TRACE(opcode);
        expect_error(masked_frame(kFin | opcode, "x"), Error::kUnknownOpcode);
    }
}

TEST(FrameParserError, ControlFrameTooLong) {
    expect_error(masked_frame(kFin | op(Opcode::kPing), pattern(126)), Error::kControlFrameTooLong);
    expect_error(masked_frame(kFin | op(Opcode::kClose), close_payload(1000, pattern(124))),
                 Error::kControlFrameTooLong);
}

TEST(FrameParserError, FragmentedControlFrame) {
    for (Opcode opcode : {Opcode::kClose, Opcode::kPing, Opcode::kPong}) {
        expect_error(masked_frame(op(opcode), ""), Error::kFragmentedControlFrame);
    }
}

TEST(FrameParserError, UnexpectedContinuation) {
    expect_error(masked_frame(kFin | op(Opcode::kContinuation), "x"),
                 Error::kUnexpectedContinuation);
    // The message before it was complete.
    expect_error(
        masked_frame(kFin | op(Opcode::kText), "a") + masked_frame(op(Opcode::kContinuation), "b"),
        Error::kUnexpectedContinuation);
}

TEST(FrameParserError, ExpectedContinuation) {
    expect_error(masked_frame(op(Opcode::kText), "a") + masked_frame(kFin | op(Opcode::kText), "b"),
                 Error::kExpectedContinuation);
    expect_error(masked_frame(op(Opcode::kBinary), "a") +
                     masked_frame(kFin | op(Opcode::kPing), "") +
                     masked_frame(op(Opcode::kBinary), "b"),
                 Error::kExpectedContinuation);
}

TEST(FrameParserError, BadLength) {
    expect_error(bytes({0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}), Error::kBadLength);
    expect_error(bytes({0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}),
                 Error::kBadLength);
}

TEST(FrameParserError, MessageTooBig) {
    expect_error(masked_frame(kFin | op(Opcode::kText), "12345678"), Error::kMessageTooBig, 7);
    expect_error(masked_frame(op(Opcode::kText), "1234") +
                     masked_frame(op(Opcode::kContinuation), "") +
                     masked_frame(kFin | op(Opcode::kContinuation), "5678"),
                 Error::kMessageTooBig, 7);
    // Largest length that is not kBadLength.
    expect_error(bytes({0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}),
                 Error::kMessageTooBig);
}

TEST(FrameParserError, MessageTooBigIsReportedFromTheHeaderAlone) {
    // Only the 14-byte header of a 2 MiB frame: rejected before any payload is buffered.
    const Outcome outcome =
        parse_every_way(bytes({0x82, 0xFF, 0, 0, 0, 0, 0, 0x20, 0, 0, 1, 2, 3, 4}));
    ASSERT_TRUE(outcome.error.has_value());
    EXPECT_EQ(*outcome.error, Error::kMessageTooBig);
}

TEST(FrameParserError, InvalidUtf8InText) {
    for (std::string_view text : {
             "\x80",              // lone continuation byte
             "\xC0\x80",          // overlong NUL
             "\xC1\xBF",          // overlong
             "\xE0\x80\x80",      // overlong 3-byte
             "\xE0\x9F\xBF",      // overlong 3-byte, highest
             "\xF0\x8F\xBF\xBF",  // overlong 4-byte
             "\xED\xA0\x80",      // surrogate U+D800
             "\xED\xBF\xBF",      // surrogate U+DFFF
             "\xF4\x90\x80\x80",  // U+110000
             "\xF5\x80\x80\x80",  // beyond any plane
             "\xFE", "\xFF",      // never in UTF-8
             "ok\xE2\x82",        // truncated at the end
             "\xE2\x28\xA1",      // bad continuation
             "abcdefgh\xC3",      // truncated after the ASCII fast path
         }) {
        SCOPED_TRACE(testing::PrintToString(std::string(text)));
        expect_error(masked_frame(kFin | op(Opcode::kText), text), Error::kInvalidUtf8);
    }
    expect_error(masked_frame(op(Opcode::kText), "ok") +
                     masked_frame(kFin | op(Opcode::kContinuation), "\xE2\x82"),
                 Error::kInvalidUtf8);
}

TEST(FrameParserError, InvalidUtf8InCloseReason) {
    expect_error(masked_frame(kFin | op(Opcode::kClose), close_payload(1000, "\xED\xA0\x80")),
                 Error::kInvalidUtf8);
}

TEST(FrameParserError, BadClosePayload) {
    expect_error(masked_frame(kFin | op(Opcode::kClose), "\x03"), Error::kBadClosePayload);
    for (std::uint16_t code : std::initializer_list<std::uint16_t>{
             0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535}) {
        SCOPED_TRACE(code);
        expect_error(masked_frame(kFin | op(Opcode::kClose), close_payload(code)),
                     Error::kBadClosePayload);
    }
}

}  // namespace
}  // namespace nudge::ws
