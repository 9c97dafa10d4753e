#include "session/protocol.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

#include <chrono>
#include <string>

#include "common/base64.hpp"

namespace nudge::session {
namespace {

using namespace std::chrono_literals;
constexpr std::string_view kSecret = "test-secret";

std::string hs256(std::string_view payload_json) {
    const std::string signing_input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                                      base64url_encode(payload_json);
    unsigned char mac[32];
    unsigned int size = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &size);
    return signing_input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), size));
}

auth::JwtVerifier make_verifier() {
    auth::JwtConfig config;
    config.secret = kSecret;
    return *auth::JwtVerifier::create(config);
}

struct ProtocolTest : ::testing::Test {
    auth::JwtVerifier verifier = make_verifier();
    Context context{Config{}, &verifier};
    Protocol::Clock::time_point t0 = Protocol::Clock::now();
    Protocol protocol{context, t0};
    Effects out;

    void text(std::string_view packet) {
        out.clear();
        protocol.on_text(packet, std::chrono::system_clock::now(), out);
    }
    void tick(std::chrono::milliseconds after) {
        out.clear();
        protocol.on_tick(t0 + after, out);
    }
    std::string connect_with(std::string_view payload_json) {
        return "40" + std::string(R"({"token":")") + hs256(payload_json) + "\"}";
    }
};

TEST_F(ProtocolTest, OpenPacketCarriesSidAndTimings) {
    const std::string open = protocol.open_packet();
    EXPECT_EQ(open.rfind("0{\"sid\":\"", 0), 0U);
    EXPECT_NE(open.find(protocol.sid()), std::string::npos);
    EXPECT_NE(open.find(R"("upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000)"),
              std::string::npos);
}

TEST_F(ProtocolTest, ValidTokenJoinsUserRoomAndRoomsClaim) {
    text(connect_with(R"({"sub":"123","rooms":["all","team_7"]})"));
    EXPECT_TRUE(protocol.connected());
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0].rfind("40{\"sid\":\"", 0), 0U);
    EXPECT_EQ(out.join, (std::vector<std::string>{"user_123", "all", "team_7"}));
    EXPECT_EQ(out.user_id, "123");
    EXPECT_FALSE(out.close);
}

TEST_F(ProtocolTest, UserRoomTemplateIsConfigurable) {
    context.config.user_room = "u:{id}:inbox";
    text(connect_with(R"({"sub":42})"));
    EXPECT_EQ(out.join, std::vector<std::string>{"u:42:inbox"});
}

TEST_F(ProtocolTest, RefusedConnectsGetConnectErrorWithReason) {
    text("40");
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0], R"(44{"message":"unauthorized","data":{"reason":"missing_token"}})");
    EXPECT_EQ(out.auth_failure, auth::AuthError::kMissingToken);
    EXPECT_FALSE(protocol.connected());
    EXPECT_TRUE(out.join.empty());

    text(R"(40{"token":"a.b.c"})");
    EXPECT_EQ(out.send[0].rfind(R"(44{"message":"unauthorized")", 0), 0U);
    EXPECT_FALSE(out.close);

    // The third refusal on one connection hangs up.
    text(connect_with(R"({"sub":"1","exp":1})"));
    EXPECT_EQ(out.send[0], R"(44{"message":"unauthorized","data":{"reason":"token_expired"}})");
    EXPECT_EQ(out.close, CloseReason::kAuthFailures);
}

TEST_F(ProtocolTest, OtherNamespacesAreInvalid) {
    text(R"(40/admin,{"token":"x"})");
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0], R"(44/admin,{"message":"Invalid namespace"})");
    EXPECT_FALSE(protocol.connected());
}

TEST_F(ProtocolTest, ClientEventsAreAckedButNotRelayed) {
    text(connect_with(R"({"sub":"1"})"));
    text(R"(42["hello",1])");
    EXPECT_TRUE(out.send.empty());
    EXPECT_TRUE(out.join.empty());
    text(R"(4217["hello",1])");
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0].rfind(R"(4317[{"error":"not_relayed")", 0), 0U);
}

TEST_F(ProtocolTest, BinaryAttachmentsAreCountedOff) {
    text(connect_with(R"({"sub":"1"})"));
    text(R"(451-3["up",{"_placeholder":true,"num":0}])");
    ASSERT_EQ(out.send.size(), 1U);  // acked
    out.clear();
    protocol.on_binary("\x01\x02", out);
    EXPECT_FALSE(out.close);
    protocol.on_binary("\x01\x02", out);  // one more than announced
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
}

TEST_F(ProtocolTest, DisconnectLeavesRooms) {
    text(connect_with(R"({"sub":"1"})"));
    text("41");
    EXPECT_TRUE(out.leave_all);
    EXPECT_FALSE(protocol.connected());
}

TEST_F(ProtocolTest, HeartbeatPingsAndTimesOut) {
    text(connect_with(R"({"sub":"1"})"));
    tick(24s);
    EXPECT_TRUE(out.send.empty());
    tick(25s);
    ASSERT_EQ(out.send, std::vector<std::string>{"2"});
    tick(30s);  // awaiting pong: no second ping
    EXPECT_TRUE(out.send.empty());
    text("3");
    tick(49s);
    EXPECT_TRUE(out.send.empty());
    tick(50s);
    ASSERT_EQ(out.send, std::vector<std::string>{"2"});
    tick(69s);
    EXPECT_FALSE(out.close);
    tick(70s);  // 20 s without a pong
    EXPECT_EQ(out.close, CloseReason::kPingTimeout);
}

TEST_F(ProtocolTest, NoConnectWithinTheTimeoutCloses) {
    tick(44s);
    EXPECT_FALSE(out.close);
    text("3");  // stray pong is harmless
    tick(45s);
    EXPECT_EQ(out.close, CloseReason::kConnectTimeout);
}

TEST_F(ProtocolTest, EngineIoPacketHandling) {
    text("1");
    EXPECT_EQ(out.close, CloseReason::kClientClose);
    text("2probe");
    EXPECT_EQ(out.send, std::vector<std::string>{"3probe"});
    text("6");
    EXPECT_FALSE(out.close);
    text("9");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
    text("");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
    text("0");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
    text("4x");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
    text("40[1]");  // auth payload must be an object
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
}

}  // namespace
}  // namespace nudge::session
