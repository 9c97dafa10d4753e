// Payload codec: golden bodies from the Engine.IO v4 protocol document and from
// socket.io-client 4.8's polling requests.
#include "eio/payload.hpp"

#include <gtest/gtest.h>

#include <string>

namespace nudge::eio {
namespace {

std::string texts(const std::vector<PayloadPacket>& packets) {
    std::string out;
    for (const auto& p : packets) out += (p.binary ? "[b:" : "[") + p.data + "]";
    return out;
}

TEST(EioPayload, DecodesOnePlainTextPacket) {
    auto packets = decode_payload("4hello");
    ASSERT_TRUE(packets);
    EXPECT_EQ(texts(*packets), "[4hello]");
}

TEST(EioPayload, DecodesSeveralPacketsSeparatedByRecordSeparator) {
    auto packets = decode_payload(
        "4test1\x1e"
        "4test2\x1e"
        "4test3");
    ASSERT_TRUE(packets);
    EXPECT_EQ(texts(*packets), "[4test1][4test2][4test3]");
}

TEST(EioPayload, DecodesBase64BinaryPackets) {
    auto packets = decode_payload(
        "4hello\x1e"
        "bAQIDBA==");
    ASSERT_TRUE(packets);
    ASSERT_EQ(packets->size(), 2U);
    EXPECT_TRUE((*packets)[1].binary);
    EXPECT_EQ((*packets)[1].data, std::string("\x01\x02\x03\x04"));
    // Captured from socket.io-client: a CONNECT with auth, then a pong.
    auto connect = decode_payload(R"(40{"token":"a.b.c"})"
                                  "\x1e"
                                  "3");
    ASSERT_TRUE(connect);
    EXPECT_EQ(texts(*connect), R"([40{"token":"a.b.c"}][3])");
}

TEST(EioPayload, RefusesMalformedBodiesWhole) {
    EXPECT_EQ(decode_payload("").error(), PayloadError::kEmpty);
    EXPECT_EQ(decode_payload("4a\x1e").error(), PayloadError::kEmpty);
    EXPECT_EQ(decode_payload("\x1e"
                             "4a")
                  .error(),
              PayloadError::kEmpty);
    EXPECT_EQ(decode_payload("abc").error(), PayloadError::kUnknownType);
    EXPECT_EQ(decode_payload("4ok\x1e"
                             "7x")
                  .error(),
              PayloadError::kUnknownType);
}

TEST(EioPayload, RefusesBadBase64) {
    EXPECT_EQ(decode_payload("bAQIDBA=").error(), PayloadError::kBadBase64);   // length 7
    EXPECT_EQ(decode_payload("bAQ-_BA==").error(), PayloadError::kBadBase64);  // base64url
    EXPECT_EQ(decode_payload("bA=IDBA==").error(), PayloadError::kBadBase64);  // '=' inside
    EXPECT_EQ(decode_payload("b!!!!").error(), PayloadError::kBadBase64);
    EXPECT_EQ(decode_payload("bAQI").error(), PayloadError::kBadBase64);  // 3 characters
    auto empty = decode_payload("b");
    ASSERT_TRUE(empty);
    EXPECT_TRUE((*empty)[0].binary);
    EXPECT_TRUE((*empty)[0].data.empty());
}

TEST(EioPayload, BoundsThePacketCount) {
    EXPECT_EQ(decode_payload("3\x1e"
                             "3\x1e"
                             "3",
                             2)
                  .error(),
              PayloadError::kTooManyPackets);
    EXPECT_TRUE(
        decode_payload("3\x1e"
                       "3",
                       2));
}

TEST(EioPayload, EncodesWhatItDecodes) {
    std::string payload;
    append_text_packet(payload, "2");
    append_text_packet(payload, R"(42["balance_updated",{"id":1}])");
    append_binary_packet(payload, std::string("\x01\x02\x03\x04"));
    EXPECT_EQ(payload,
              "2\x1e"
              R"(42["balance_updated",{"id":1}])"
              "\x1e"
              "bAQIDBA==");
    auto back = decode_payload(payload);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->size(), 3U);
    EXPECT_EQ((*back)[2].data, std::string("\x01\x02\x03\x04"));
}

TEST(EioPayload, EveryPrefixOfAValidBodyDecodesOrFailsCleanly) {
    const std::string body =
        "40{\"token\":\"x\"}\x1e"
        "bAQIDBA==\x1e"
        "3";
    for (std::size_t n = 0; n <= body.size(); ++n) {
        auto r = decode_payload(std::string_view(body).substr(0, n));
        if (r) {
            EXPECT_FALSE(r->empty());
        }
    }
}

}  // namespace
}  // namespace nudge::eio
