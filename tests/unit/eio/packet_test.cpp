#include "eio/packet.hpp"

#include <gtest/gtest.h>

namespace nudge::eio {
namespace {

TEST(EioDecode, SplitsTypeAndData) {
    auto pong = decode("3");
    ASSERT_TRUE(pong);
    EXPECT_EQ(pong->type, PacketType::kPong);
    EXPECT_EQ(pong->data, "");

    auto message = decode(R"(42["hello",1])");
    ASSERT_TRUE(message);
    EXPECT_EQ(message->type, PacketType::kMessage);
    EXPECT_EQ(message->data, R"(2["hello",1])");

    auto probe = decode("2probe");
    ASSERT_TRUE(probe);
    EXPECT_EQ(probe->type, PacketType::kPing);
    EXPECT_EQ(probe->data, "probe");
}

TEST(EioDecode, RejectsEmptyAndUnknownTypes) {
    EXPECT_EQ(decode("").error(), PacketError::kEmpty);
    EXPECT_EQ(decode("7").error(), PacketError::kUnknownType);
    EXPECT_EQ(decode("x").error(), PacketError::kUnknownType);
    EXPECT_EQ(decode("/").error(), PacketError::kUnknownType);
}

TEST(EioEncode, OpenPacketMatchesEngineIoV4) {
    EXPECT_EQ(encode_open({"lv_VI97HAXpY6yYWAAAC", 25000, 20000, 1000000}),
              R"(0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":[],"pingInterval":25000,)"
              R"("pingTimeout":20000,"maxPayload":1000000})");
}

TEST(EioEncode, PollingOpenPacketOffersTheWebSocketUpgrade) {
    EXPECT_EQ(encode_open({"abc", 300, 200, 1000000, true}),
              R"(0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,)"
              R"("pingTimeout":200,"maxPayload":1000000})");
}

TEST(EioEncode, ErrorBodiesUseEngineIoCodes) {
    EXPECT_EQ(error_body(HandshakeError::kUnknownTransport),
              R"({"code":0,"message":"Transport unknown"})");
    EXPECT_EQ(error_body(HandshakeError::kUnsupportedProtocolVersion),
              R"({"code":5,"message":"Unsupported protocol version"})");
    EXPECT_EQ(error_body(HandshakeError::kUnknownSid), R"({"code":1,"message":"Session ID unknown"})");
}

}  // namespace
}  // namespace nudge::eio
