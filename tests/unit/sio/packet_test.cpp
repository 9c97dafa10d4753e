#include "sio/packet.hpp"

#include <gtest/gtest.h>

namespace nudge::sio {
namespace {

// Golden strings as socket.io-client 4.x puts them on the wire (after the Engine.IO '4').
TEST(SioDecode, ConnectWithAuthPayload) {
    auto packet = decode(R"(0{"token":"abc"})");
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->type, PacketType::kConnect);
    EXPECT_EQ(packet->nsp, "/");
    EXPECT_FALSE(packet->ack_id);
    EXPECT_EQ(packet->payload, R"({"token":"abc"})");
}

TEST(SioDecode, ConnectToOtherNamespace) {
    auto packet = decode(R"(0/admin,{"token":"x"})");
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->nsp, "/admin");
    EXPECT_EQ(packet->payload, R"({"token":"x"})");

    auto bare = decode("0/admin,");
    ASSERT_TRUE(bare);
    EXPECT_EQ(bare->nsp, "/admin");
    EXPECT_EQ(bare->payload, "");

    auto no_comma = decode("1/admin");
    ASSERT_TRUE(no_comma);
    EXPECT_EQ(no_comma->type, PacketType::kDisconnect);
    EXPECT_EQ(no_comma->nsp, "/admin");
}

TEST(SioDecode, EventWithAckId) {
    auto packet = decode(R"(212["evt",1])");
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->type, PacketType::kEvent);
    ASSERT_TRUE(packet->ack_id);
    EXPECT_EQ(*packet->ack_id, 12U);
    EXPECT_EQ(packet->payload, R"(["evt",1])");

    auto nsp_ack = decode(R"(2/chat,7["m"])");
    ASSERT_TRUE(nsp_ack);
    EXPECT_EQ(nsp_ack->nsp, "/chat");
    EXPECT_EQ(*nsp_ack->ack_id, 7U);
}

TEST(SioDecode, BinaryEventAttachments) {
    auto packet = decode(R"(51-3["up",{"_placeholder":true,"num":0}])");
    ASSERT_TRUE(packet);
    EXPECT_EQ(packet->type, PacketType::kBinaryEvent);
    EXPECT_EQ(packet->attachments, 1U);
    EXPECT_EQ(*packet->ack_id, 3U);
    EXPECT_EQ(decode("5x-[]").error(), PacketError::kBadAttachments);
    EXPECT_EQ(decode("5[]").error(), PacketError::kBadAttachments);
    EXPECT_EQ(decode(R"(50-["up"])").error(), PacketError::kBadAttachments);  // at least one
}

bool valid(std::string_view text) {
    auto packet = decode(text);
    return packet && payload_valid(*packet);
}

// The shapes socket.io-parser's isPayloadValid accepts, and the ones it rejects.
TEST(SioPayloadValid, EventNeedsANonEmptyArrayStartingWithAName) {
    EXPECT_TRUE(valid(R"(2["hello"])"));
    EXPECT_TRUE(valid(R"(212["hello",{"a":1}])"));
    EXPECT_TRUE(valid(R"(2[1])"));  // socket.io-parser accepts a numeric first element
    EXPECT_TRUE(valid(R"(51-["up",{"_placeholder":true,"num":0}])"));
    EXPECT_FALSE(valid("2{}"));
    EXPECT_FALSE(valid("21{}"));
    EXPECT_FALSE(valid("22[]"));
    EXPECT_FALSE(valid("2"));
    EXPECT_FALSE(valid(R"(2"hello")"));
    EXPECT_FALSE(valid(R"(2[{}])"));
    EXPECT_FALSE(valid(R"(2[null])"));
    EXPECT_FALSE(valid(R"(2["disconnect"])"));  // reserved name
    EXPECT_FALSE(valid(R"(2abc["hello"])"));    // an ack id that is not a number
    EXPECT_FALSE(valid(R"(2["hello")"));        // truncated JSON
    EXPECT_FALSE(valid(R"(51-{})"));
}

TEST(SioPayloadValid, AckNeedsAnIdAndAnArray) {
    EXPECT_TRUE(valid("37[]"));
    EXPECT_TRUE(valid(R"(37["ok"])"));
    EXPECT_FALSE(valid(R"(3["ok"])"));  // no id
    EXPECT_FALSE(valid("37{}"));
    EXPECT_FALSE(valid("37"));
    EXPECT_FALSE(valid(R"(3x["ok"])"));
}

TEST(SioPayloadValid, ConnectDisconnectAndConnectError) {
    EXPECT_TRUE(valid("0"));
    EXPECT_TRUE(valid(R"(0{"token":"x"})"));
    EXPECT_FALSE(valid("0[1]"));
    EXPECT_FALSE(valid(R"(0"x")"));
    EXPECT_TRUE(valid("1"));
    EXPECT_TRUE(valid("1/admin,"));
    EXPECT_FALSE(valid("1{}"));
    EXPECT_TRUE(valid(R"(4{"message":"x"})"));
    EXPECT_TRUE(valid(R"(4"x")"));
    EXPECT_FALSE(valid("4[]"));
}

TEST(SioDecode, RejectsGarbage) {
    EXPECT_EQ(decode("").error(), PacketError::kEmpty);
    EXPECT_EQ(decode("9").error(), PacketError::kUnknownType);
    EXPECT_EQ(decode("299999999999999999999999[]").error(), PacketError::kBadAckId);
}

TEST(SioEncode, ServerPackets) {
    EXPECT_EQ(encode_connect("/", "abc"), R"(40{"sid":"abc"})");
    EXPECT_EQ(encode_connect_error("/", "unauthorized", R"({"reason":"token_expired"})"),
              R"(44{"message":"unauthorized","data":{"reason":"token_expired"}})");
    EXPECT_EQ(encode_connect_error("/admin", "Invalid namespace"),
              R"(44/admin,{"message":"Invalid namespace"})");
    EXPECT_EQ(encode_event("/", "balance_updated", R"({"userId":"123"})"),
              R"(42["balance_updated",{"userId":"123"}])");
    EXPECT_EQ(encode_event("/", "ping\"me", ""), R"(42["ping\"me"])");
    EXPECT_EQ(encode_ack("/", 12, "[]"), "4312[]");
    EXPECT_EQ(encode_ack("/x", 1, R"(["ok"])"), R"(43/x,1["ok"])");
    EXPECT_EQ(encode_disconnect("/"), "41");
}

TEST(SioReserved, MatchesSocketIo) {
    for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener"}) {
        EXPECT_TRUE(is_reserved_event(name)) << name;
    }
    EXPECT_FALSE(is_reserved_event("balance_updated"));
    EXPECT_FALSE(is_reserved_event("Connect"));
}

}  // namespace
}  // namespace nudge::sio
