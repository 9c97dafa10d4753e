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
    void tick_at(std::chrono::milliseconds after, std::chrono::system_clock::time_point wall) {
        out.clear();
        protocol.on_tick(t0 + after, wall, out);
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
    context.config.recovery = true;
    context.config.recovery_for_all = true;
    text(connect_with(R"({"sub":"123","rooms":["all","team_7"]})"));
    EXPECT_TRUE(protocol.connected());
    // Under recovery the caller answers, once the broker has said what was missed.
    EXPECT_TRUE(out.send.empty());
    ASSERT_TRUE(out.recover);
    EXPECT_FALSE(out.recover->from);
    EXPECT_TRUE(out.recover->pid.empty());
    EXPECT_EQ(out.join, (std::vector<std::string>{"user_123", "all", "team_7"}));
    EXPECT_EQ(out.user_id, "123");
    EXPECT_FALSE(out.close);
}

// --recovery auto (the default): only a session that asks in its CONNECT auth recovers; the
// others are answered at once without a pid and take plain events.
TEST_F(ProtocolTest, UnderAutoOnlySessionsThatAskRecover) {
    context.config.recovery = true;
    context.config.recovery_for_all = false;
    auto connect = [&](std::string_view extra) {
        Protocol fresh{context, t0};
        out.clear();
        fresh.on_text(R"(40{"token":")" + hs256(R"({"sub":"1"})") + "\"" + std::string(extra) + "}",
                      std::chrono::system_clock::now(), out);
        EXPECT_TRUE(fresh.connected()) << extra;
    };
    for (const char* plain : {"", R"(,"pid":"Ep:7:abc")", R"(,"recovery":"yes")", R"(,"recovery":1)",
                              R"(,"recovery":false)", R"(,"nudge":2)", R"(,"nudge":"1")", R"(,"nudge":true)"}) {
        connect(plain);
        EXPECT_FALSE(out.recover) << plain;
        ASSERT_EQ(out.send.size(), 1U) << plain;
        EXPECT_EQ(out.send[0].find("pid"), std::string::npos) << plain;
        ASSERT_TRUE(out.event_form) << plain;
        EXPECT_FALSE(out.event_form->offsets) << plain;
        EXPECT_FALSE(out.event_form->metadata) << plain;
    }
    connect(R"(,"recovery":true,"pid":"Ep:7:abc")");
    ASSERT_TRUE(out.recover && out.recover->from);
    EXPECT_TRUE(out.recover->recovery);
    EXPECT_EQ(*out.recover->from, (Position{"Ep", 7}));
    EXPECT_TRUE(out.send.empty());
    EXPECT_TRUE(out.event_form->offsets);
    EXPECT_FALSE(out.event_form->metadata);
    // nudge: 1 implies recovery and adds the metadata argument.
    connect(R"(,"nudge":1)");
    ASSERT_TRUE(out.recover);
    EXPECT_FALSE(out.recover->from);
    EXPECT_TRUE(out.event_form->offsets);
    EXPECT_TRUE(out.event_form->metadata);
}

TEST_F(ProtocolTest, UnderOffANudgeSessionGetsMetadataWithoutOffsets) {
    context.config.recovery = false;
    Protocol fresh{context, t0};
    fresh.on_text(R"(40{"token":")" + hs256(R"({"sub":"1"})") + R"(","nudge":1,"recovery":true})",
                  std::chrono::system_clock::now(), out);
    EXPECT_FALSE(out.recover);
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0].find("pid"), std::string::npos);
    ASSERT_TRUE(out.event_form);
    EXPECT_FALSE(out.event_form->offsets);
    EXPECT_TRUE(out.event_form->metadata);
}

TEST_F(ProtocolTest, WithoutRecoveryTheConnectIsAnsweredAtOnceWithoutPid) {
    context.config.recovery = false;
    text(connect_with(R"({"sub":"123"})"));
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0].rfind("40{\"sid\":\"", 0), 0U);
    EXPECT_EQ(out.send[0].find("pid"), std::string::npos);
    EXPECT_FALSE(out.recover);
}

TEST_F(ProtocolTest, ReconnectPositionIsThePidRaisedByALaterOffsetOfTheSameEpoch) {
    context.config.recovery = true;
    context.config.recovery_for_all = true;
    auto reconnect = [&](std::string_view extra) {
        Protocol fresh{context, t0};
        out.clear();
        fresh.on_text("40{\"token\":\"" + hs256(R"({"sub":"1"})") + "\"" + std::string(extra) + "}",
                      std::chrono::system_clock::now(), out);
        return out.recover;
    };
    auto r = reconnect(R"(,"pid":"Ep:7:abc")");
    ASSERT_TRUE(r && r->from);
    EXPECT_EQ(*r->from, (Position{"Ep", 7}));
    EXPECT_EQ(r->pid, "Ep:7:abc");
    r = reconnect(R"(,"pid":"Ep:7:abc","offset":"Ep:12")");
    EXPECT_EQ(*r->from, (Position{"Ep", 12}));
    // An older offset (from before a resync gave a new pid) or another epoch's is ignored.
    r = reconnect(R"(,"pid":"Ep:7:abc","offset":"Ep:3")");
    EXPECT_EQ(*r->from, (Position{"Ep", 7}));
    r = reconnect(R"(,"pid":"Ep:7:abc","offset":"Old:99")");
    EXPECT_EQ(*r->from, (Position{"Ep", 7}));
    // A pid that does not parse is not a fresh session: it resyncs (an epoch no broker has).
    r = reconnect(R"(,"pid":"garbage")");
    ASSERT_TRUE(r && r->from);
    EXPECT_EQ(r->from->epoch, "");
    EXPECT_EQ(Protocol::connect_answer("Ep:7:abc").find(R"(,"pid":"Ep:7:abc"})"), 31U);
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

TEST_F(ProtocolTest, AnonymousConnectJoinsOnlyTheAnonymousRooms) {
    context.config.allow_anonymous = true;
    context.config.anonymous_rooms = {"status", "news"};
    text("40");
    EXPECT_TRUE(protocol.connected());
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0].rfind("40{\"sid\":\"", 0), 0U);
    EXPECT_EQ(out.join, (std::vector<std::string>{"status", "news"}));
    EXPECT_EQ(out.user_id, "");
    EXPECT_FALSE(out.auth_failure);
}

TEST_F(ProtocolTest, AnonymousModeStillRefusesABadToken) {
    context.config.allow_anonymous = true;
    text(R"(40{"token":"a.b.c"})");
    EXPECT_FALSE(protocol.connected());
    EXPECT_EQ(out.send[0].rfind(R"(44{"message":"unauthorized")", 0), 0U);
    text(R"(40{"other":1})");
    EXPECT_TRUE(protocol.connected());  // no token at all: anonymous
}

TEST_F(ProtocolTest, PollingOpenPacketOffersWebSocket) {
    EXPECT_NE(protocol.open_packet(true).find(R"("upgrades":["websocket"])"), std::string::npos);
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

// Socket.IO v5 "Packet format": an EVENT's payload is a non-empty array led by the event
// name; socket.io-parser rejects anything else and the official server closes the connection.
TEST_F(ProtocolTest, MalformedEventPayloadsClose) {
    for (const char* bad : {"42{}", "421{}", "422[]", "42", R"(42"x")", R"(42[{}])",
                            R"(42["disconnect"])", R"(42abc["x"])", R"(451-{})"}) {
        Protocol fresh{context, t0};
        Effects effects;
        fresh.on_text(connect_with(R"({"sub":"1"})"), std::chrono::system_clock::now(), effects);
        ASSERT_TRUE(fresh.connected());
        effects.clear();
        fresh.on_text(bad, std::chrono::system_clock::now(), effects);
        EXPECT_EQ(effects.close, CloseReason::kProtocolError) << bad;
        EXPECT_TRUE(effects.send.empty()) << bad << ": must not be acked";
    }
}

TEST_F(ProtocolTest, MalformedAcksClose) {
    for (const char* bad : {"43{}", R"(43["x"])", "437", "437{}", R"(43x["x"])"}) {
        Protocol fresh{context, t0};
        Effects effects;
        fresh.on_text(connect_with(R"({"sub":"1"})"), std::chrono::system_clock::now(), effects);
        effects.clear();
        fresh.on_text(bad, std::chrono::system_clock::now(), effects);
        EXPECT_EQ(effects.close, CloseReason::kProtocolError) << bad;
    }
    text(connect_with(R"({"sub":"1"})"));
    text(R"(437["fine"])");  // a well-formed stray ack is ignored
    EXPECT_FALSE(out.close);
}

TEST_F(ProtocolTest, NonConnectFirstPacketClosesAtOnce) {
    text(R"(42["x"])");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
}

TEST_F(ProtocolTest, PacketsBeforeConnectCloseForEveryType) {
    for (const char* early : {R"(42["x"])", R"(421["x"])", "41", R"(437["x"])",
                              R"(451-["x",{"_placeholder":true,"num":0}])"}) {
        Protocol fresh{context, t0};
        Effects effects;
        fresh.on_text(early, std::chrono::system_clock::now(), effects);
        EXPECT_EQ(effects.close, CloseReason::kProtocolError) << early;
    }
}

TEST_F(ProtocolTest, EventsForANamespaceNotConnectedClose) {
    text(connect_with(R"({"sub":"1"})"));
    text(R"(42/admin,["x"])");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
}

TEST_F(ProtocolTest, DuplicateConnectCloses) {
    text(connect_with(R"({"sub":"1"})"));
    ASSERT_TRUE(protocol.connected());
    text(connect_with(R"({"sub":"1"})"));
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
    EXPECT_TRUE(out.join.empty());
}

TEST_F(ProtocolTest, EventAfterDisconnectCloses) {
    text(connect_with(R"({"sub":"1"})"));
    text("41");
    text(R"(42["x"])");
    EXPECT_EQ(out.close, CloseReason::kProtocolError);
}

// A client may leave "/" and CONNECT again later: the connect deadline restarts at the
// DISCONNECT instead of closing the session because the first deadline is long gone.
TEST_F(ProtocolTest, DisconnectAfterTheConnectDeadlineRestartsIt) {
    text(connect_with(R"({"sub":"1"})"));
    tick(100s);
    text("3");
    text("41");
    EXPECT_TRUE(out.leave_all);
    tick(101s);
    EXPECT_FALSE(out.close);
    tick(145s);
    EXPECT_FALSE(out.close);
    text(connect_with(R"({"sub":"1"})"));
    EXPECT_TRUE(protocol.connected());
    tick(147s);
    EXPECT_FALSE(out.close);
}

TEST_F(ProtocolTest, DisconnectedClientThatNeverReconnectsTimesOut) {
    text(connect_with(R"({"sub":"1"})"));
    tick(100s);
    text("3");
    text("41");
    tick(101s);
    EXPECT_FALSE(out.close);
    tick(101s + 45s);
    EXPECT_EQ(out.close, CloseReason::kConnectTimeout);
}

TEST_F(ProtocolTest, ExpiredTokenClosesAfterExpPlusLeeway) {
    using std::chrono::system_clock;
    const auto now = system_clock::now();
    const auto exp = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()) + 60s;
    text(connect_with(R"({"sub":"1","exp":)" + std::to_string(exp.count()) + "}"));
    ASSERT_TRUE(protocol.connected());
    const system_clock::time_point exp_point(exp);
    tick_at(1s, exp_point);
    EXPECT_FALSE(out.close);
    tick_at(2s, exp_point + 30s);  // the default leeway: still valid at exactly exp + leeway
    EXPECT_FALSE(out.close);
    tick_at(3s, exp_point + 30s + 1ms);
    EXPECT_EQ(out.close, CloseReason::kTokenExpired);
    EXPECT_TRUE(out.send.empty()) << "a transport close: no Socket.IO DISCONNECT";
}

TEST_F(ProtocolTest, ExpiryUsesTheVerifierLeeway) {
    auth::JwtConfig config;
    config.secret = kSecret;
    config.leeway = 0s;
    const auth::JwtVerifier strict = *auth::JwtVerifier::create(config);
    const Context strict_context{Config{}, &strict};
    Protocol session{strict_context, t0};
    const auto exp = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()) + 5s;
    Effects effects;
    session.on_text(connect_with(R"({"sub":"1","exp":)" + std::to_string(exp.count()) + "}"),
                    std::chrono::system_clock::now(), effects);
    ASSERT_TRUE(session.connected());
    effects.clear();
    session.on_tick(t0 + 1s, std::chrono::system_clock::time_point(exp + 1ms), effects);
    EXPECT_EQ(effects.close, CloseReason::kTokenExpired);
}

TEST_F(ProtocolTest, TokenWithoutExpNeverExpires) {
    text(connect_with(R"({"sub":"1"})"));
    tick_at(1s, std::chrono::system_clock::now() + std::chrono::hours(24 * 365 * 50));
    EXPECT_FALSE(out.close);
}

TEST_F(ProtocolTest, EveryCloseReasonHasAName) {
    for (int i = 0; i < static_cast<int>(CloseReason::kCount); ++i) {
        const auto name = to_string(static_cast<CloseReason>(i));
        EXPECT_FALSE(name.empty()) << i;
        EXPECT_NE(name, "unknown") << i;
    }
    EXPECT_EQ(to_string(CloseReason::kTokenExpired), "token_expired");
}

std::string subscribe_packet(std::string_view event, std::string_view body_json, int ack = 5) {
    return "42" + std::to_string(ack) + "[\"" + std::string(event) + "\"," + std::string(body_json) + "]";
}

TEST_F(ProtocolTest, SubscribeWithATokenForThisUserAndRoomJoins) {
    text(connect_with(R"({"sub":"1"})"));
    ASSERT_TRUE(protocol.connected());
    EXPECT_EQ(protocol.user_id(), "1");
    const std::string good = hs256(R"({"sub":"1","room":"project_42","exp":9999999999})");
    text(subscribe_packet("nudge:subscribe", R"({"room":"project_42","token":")" + good + "\"}"));
    EXPECT_EQ(out.join, std::vector<std::string>{"project_42"});
    EXPECT_EQ(out.subscription, SubscribeOutcome::kGrantedToken);
    ASSERT_EQ(out.send.size(), 1U);
    EXPECT_EQ(out.send[0], R"(435[{"ok":true}])");

    text(subscribe_packet("nudge:unsubscribe", R"({"room":"project_42"})", 6));
    EXPECT_EQ(out.leave, std::vector<std::string>{"project_42"});
    EXPECT_EQ(out.send[0], R"(436[{"ok":true}])");
}

TEST_F(ProtocolTest, SubscribeWithoutProofOrWithAWrongTokenIsRefused) {
    text(connect_with(R"({"sub":"1"})"));
    text(subscribe_packet("nudge:subscribe", R"({"room":"project_42"})"));
    EXPECT_TRUE(out.join.empty());
    EXPECT_FALSE(out.hook_query);
    EXPECT_EQ(out.subscription, SubscribeOutcome::kNoProof);
    EXPECT_NE(out.send[0].find(R"("code":"forbidden")"), std::string::npos);
    for (std::string_view claims : {R"({"sub":"2","room":"project_42","exp":9999999999})",
                                    R"({"sub":"1","room":"project_43","exp":9999999999})",
                                    R"({"sub":"1","room":"project_42"})",
                                    R"({"sub":"1","room":"project_42","exp":1})"}) {
        text(subscribe_packet("nudge:subscribe",
                              R"({"room":"project_42","token":")" + hs256(claims) + "\"}"));
        EXPECT_TRUE(out.join.empty()) << claims;
        EXPECT_EQ(out.subscription, SubscribeOutcome::kBadToken) << claims;
        EXPECT_NE(out.send[0].find(R"("code":"bad_token")"), std::string::npos);
    }
    for (std::string_view body : {R"({"room":""})", R"({"room":7})", R"("project_42")",
                                  R"({"room":"a","token":1})"}) {
        text(subscribe_packet("nudge:subscribe", body));
        EXPECT_EQ(out.subscription, SubscribeOutcome::kBadRequest) << body;
    }
    // Without an ack id nothing is sent, and nothing is joined either.
    text(R"(42["nudge:subscribe",{"room":"project_42"}])");
    EXPECT_TRUE(out.send.empty());
    EXPECT_TRUE(out.join.empty());
}

TEST_F(ProtocolTest, WithAHookASubscriptionWithoutTokenIsAskedWithTheSessionEpoch) {
    context.config.subscribe_hook = true;
    text(connect_with(R"({"sub":"1"})"));
    const auto epoch = protocol.epoch();
    text(subscribe_packet("nudge:subscribe", R"({"room":"project_42"})", 9));
    ASSERT_TRUE(out.hook_query);
    EXPECT_EQ(out.hook_query->room, "project_42");
    EXPECT_EQ(out.hook_query->ack_id, 9U);
    EXPECT_EQ(out.hook_query->epoch, epoch);
    EXPECT_TRUE(out.send.empty());  // the caller acks after the hook answered
    text("41");
    EXPECT_NE(protocol.epoch(), epoch);
    EXPECT_EQ(protocol.user_id(), "");
}

TEST_F(ProtocolTest, WithoutClientSubscriptionsTheEventIsNotRelayedAndNoUserIsKept) {
    context.config.client_subscriptions = false;
    text(connect_with(R"({"sub":"1"})"));
    EXPECT_EQ(protocol.user_id(), "");
    text(subscribe_packet("nudge:subscribe", R"({"room":"project_42"})"));
    EXPECT_FALSE(out.subscription);
    EXPECT_NE(out.send[0].find("not_relayed"), std::string::npos);
}

}  // namespace
}  // namespace nudge::session
