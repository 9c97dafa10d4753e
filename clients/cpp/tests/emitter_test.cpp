// nudge::Emitter against ScriptedHub: what it sends, how it maps answers, when it retries
// and when it reconnects.
#include "nudge/emitter.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <functional>
#include <stdexcept>

#include "scripted_hub.hpp"

namespace nudge {
namespace {

namespace json = boost::json;
using fakes::ScriptedHub;
using fakes::Step;
using std::chrono::milliseconds;

struct EmitterTest : ::testing::Test {
    std::vector<milliseconds> waits;  // what the emitter slept, in order
    // The emitter's clock: it stands still except when the emitter sleeps.
    std::chrono::steady_clock::time_point clock{};

    // Options for `url` with the key "k3y", no jitter, changed by `configure`.
    Emitter make(const std::string& url,
                 const std::function<void(EmitterOptions&)>& configure = nullptr) {
        EmitterOptions options;
        options.url = url;
        options.api_key = "k3y";
        options.jitter = [] { return 1.0; };
        if (configure) configure(options);
        options.sleep = [this](milliseconds wait) {
            waits.push_back(wait);
            clock += wait;
        };
        options.now = [this] { return clock; };
        auto emitter = Emitter::create(std::move(options));
        if (!emitter) throw std::runtime_error(emitter.error().describe());
        return std::move(*emitter);
    }
};

TEST_F(EmitterTest, PostsTheEventWithTheKeyAsJson) {
    ScriptedHub hub({Step::accepted(1)});
    Emitter emitter = make(hub.url());
    const auto sent =
        emitter.emit({"user_1", "team_7"}, "balance_updated", json::object{{"x", 1}}, {"user_2"});
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(sent->events, 1U);

    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].method, "POST");
    EXPECT_EQ(requests[0].target, "/api/v1/emit");
    EXPECT_EQ(requests[0].host, hub.url().substr(7));
    EXPECT_EQ(requests[0].authorization, "Bearer k3y");
    EXPECT_EQ(requests[0].content_type, "application/json");
    EXPECT_EQ(fakes::without_ids(requests[0].body),
              json::parse(R"({"rooms":["user_1","team_7"],"event":"balance_updated",)"
                          R"("data":{"x":1},"except":["user_2"]})"));
}

TEST_F(EmitterTest, PathPrefixOfTheUrlIsKept) {
    ScriptedHub hub({Step::accepted(1)});
    Emitter emitter = make(hub.url() + "/nudge/");
    ASSERT_TRUE(emitter.emit({"a"}, "e"));
    EXPECT_EQ(hub.requests().at(0).target, "/nudge/api/v1/emit");
}

TEST_F(EmitterTest, EmitEventSendsToTheUsersRoom) {
    ScriptedHub hub({Step::accepted(1), Step::accepted(1)});
    Emitter emitter = make(hub.url());
    ASSERT_TRUE(emitter.emit_event("123", "balance_updated"));
    Emitter custom = make(hub.url(), [](EmitterOptions& o) { o.user_room = "u:{id}:inbox"; });
    ASSERT_TRUE(custom.emit_event("7", "e", json::value("x")));
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_EQ(fakes::without_ids(requests[0].body),
              json::parse(R"({"rooms":["user_123"],"event":"balance_updated"})"));
    EXPECT_EQ(fakes::without_ids(requests[1].body),
              json::parse(R"({"rooms":["u:7:inbox"],"event":"e","data":"x"})"));
}

TEST_F(EmitterTest, EmitJsonSendsParsedDataAndRefusesBadJsonWithoutSending) {
    ScriptedHub hub({Step::accepted(1)});
    Emitter emitter = make(hub.url());
    ASSERT_TRUE(emitter.emit_json({"a"}, "e", R"( {"x": [1, 2]} )"));
    EXPECT_EQ(json::parse(hub.requests().at(0).body).at("data"), json::parse("{\"x\":[1,2]}"));

    for (std::string_view bad : {"{x:1}", "", "1 2", "{\"x\":"}) {
        const auto refused = emitter.emit_json({"a"}, "e", bad);
        ASSERT_FALSE(refused) << bad;
        EXPECT_EQ(refused.error().kind, ErrorKind::kInvalidArgument);
        EXPECT_EQ(refused.error().attempts, 0U);
        EXPECT_NE(refused.error().message.find("data is not valid JSON"), std::string::npos);
    }
    EXPECT_EQ(hub.requests().size(), 1U);
}

TEST_F(EmitterTest, RequestsShareOneKeptAliveConnection) {
    ScriptedHub hub({Step::accepted(1), Step::accepted(1), Step::accepted(1)});
    Emitter emitter = make(hub.url());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(emitter.emit({"a"}, "e"));
    EXPECT_EQ(hub.connections(), 1U);
}

TEST_F(EmitterTest, ReconnectsWhenTheHubClosedTheIdleConnection) {
    ScriptedHub hub(
        {Step{Step::Action::kAnswerThenClose, 202, R"({"accepted":1})", ""}, Step::accepted(1)});
    Emitter emitter = make(hub.url());
    ASSERT_TRUE(emitter.emit({"a"}, "first"));
    const auto second = emitter.emit({"a"}, "second");
    ASSERT_TRUE(second) << second.error().describe();
    EXPECT_EQ(hub.connections(), 2U);
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 2U);  // the closed connection never saw "second"
    EXPECT_EQ(requests[1].connection, 2U);
    EXPECT_TRUE(waits.empty()) << "a reconnect is not a retry";
}

TEST_F(EmitterTest, AKeptAliveConnectionDroppedWithoutAnswerIsResentAtOnce) {
    ScriptedHub hub(
        {Step::accepted(1), Step{Step::Action::kCloseWithoutAnswer, 0, "", ""}, Step::accepted(1)});
    Emitter emitter = make(hub.url());
    ASSERT_TRUE(emitter.emit({"a"}, "e"));
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(hub.requests().size(), 3U);
    EXPECT_TRUE(waits.empty());
}

TEST_F(EmitterTest, AFreshConnectionDroppedWithoutAnswerIsRetriedAfterBackoff) {
    ScriptedHub hub({Step{Step::Action::kCloseWithoutAnswer, 0, "", ""}, Step::accepted(1)});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) { o.backoff = milliseconds(50); });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(hub.requests().size(), 2U);
    EXPECT_EQ(waits, std::vector<milliseconds>{milliseconds(50)});
}

TEST_F(EmitterTest, Retries503HonouringRetryAfterUpToTheCap) {
    ScriptedHub hub(
        {Step::answer(503, R"({"error":{"code":"overloaded","message":"behind"}})", "1"),
         Step::answer(503, R"({"error":{"code":"overloaded","message":"behind"}})", "60"),
         Step::accepted(1)});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) {
        o.backoff = milliseconds(100);
        o.max_backoff = milliseconds(5000);
    });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(hub.requests().size(), 3U);
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(5000)}));
    EXPECT_EQ(hub.connections(), 1U) << "a 503 keeps the connection";
    // Every retry is the same request, id included: the hub delivers the event once.
    const auto requests = hub.requests();
    EXPECT_EQ(requests[0].body, requests[1].body);
    EXPECT_EQ(requests[1].body, requests[2].body);
    EXPECT_EQ(fakes::without_ids(requests[0].body), json::parse(R"({"rooms":["a"],"event":"e"})"));
}

TEST_F(EmitterTest, IdsAreOptionalAndAGivenIdIsKept) {
    ScriptedHub hub({Step::accepted(2), Step::accepted(1)});
    Emitter emitter = make(hub.url(), [](EmitterOptions& /*o*/) {});
    std::vector<Event> events{Event{{"a"}, "e", std::nullopt, {}, "mine"},
                              Event{{"a"}, "e", std::nullopt, {}, {}}};
    ASSERT_TRUE(emitter.emit_batch(events));
    const json::value batch = json::parse(hub.requests().at(0).body);
    EXPECT_EQ(batch.at("events").at(0).at("id"), "mine");
    EXPECT_EQ(batch.at("events").at(1).at("id").as_string().size(), 32U);

    Emitter plain = make(hub.url(), [](EmitterOptions& o) { o.idempotent = false; });
    ASSERT_TRUE(plain.emit({"a"}, "e"));
    EXPECT_EQ(json::parse(hub.requests().at(1).body), json::parse(R"({"rooms":["a"],"event":"e"})"));
}

TEST_F(EmitterTest, GivesUpOn5xxAfterTheRetries) {
    const Step busy = Step::error(503, "overloaded", "the hub is behind on deliveries");
    ScriptedHub hub({busy, busy, busy});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) {
        o.max_retries = 2;
        o.backoff = milliseconds(10);
    });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    const EmitError& error = sent.error();
    EXPECT_EQ(error.kind, ErrorKind::kUnavailable);
    EXPECT_EQ(error.status, 503U);
    EXPECT_EQ(error.code, "overloaded");
    EXPECT_EQ(error.attempts, 3U);
    EXPECT_EQ(error.url, hub.url());
    EXPECT_EQ(hub.requests().size(), 3U);
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(10), milliseconds(20)}));
}

TEST_F(EmitterTest, ClientErrorsAreNotRetried) {
    struct Case {
        Step step;
        ErrorKind kind;
        std::string_view code;
    };
    for (const Case& c :
         {Case{Step::error(401, "unauthorized", "missing or wrong API key"),
               ErrorKind::kUnauthorized, "unauthorized"},
          Case{Step::error(400, "reserved_event", R"(event: \"connect\" is reserved by Socket.IO)"),
               ErrorKind::kRejected, "reserved_event"},
          Case{Step::error(413, "payload_too_large", "body over --max-body"), ErrorKind::kTooLarge,
               "payload_too_large"}}) {
        ScriptedHub hub({c.step});
        Emitter emitter = make(hub.url());
        const auto sent = emitter.emit({"a"}, "connect");
        ASSERT_FALSE(sent);
        EXPECT_EQ(sent.error().kind, c.kind);
        EXPECT_EQ(sent.error().code, c.code);
        EXPECT_EQ(sent.error().status, c.step.status);
        EXPECT_EQ(sent.error().attempts, 1U);
        EXPECT_EQ(hub.requests().size(), 1U);
    }
    EXPECT_TRUE(waits.empty());
}

TEST_F(EmitterTest, AnUnreachableHubIsRetriedThenReportedWithTheSystemError) {
    const std::string url = fakes::unused_url();
    Emitter emitter = make(url, [](EmitterOptions& o) { o.max_retries = 2; });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    const EmitError& error = sent.error();
    EXPECT_EQ(error.kind, ErrorKind::kUnreachable);
    EXPECT_EQ(error.system_error, std::errc::connection_refused);
    EXPECT_EQ(error.attempts, 3U);
    EXPECT_EQ(error.status, 0U);
    EXPECT_EQ(waits.size(), 2U);
    const std::string text = error.describe();
    EXPECT_NE(text.find("cannot reach the hub at " + url + ": connect: "), std::string::npos)
        << text;
    EXPECT_NE(text.find(error.system_error.message()), std::string::npos) << text;
}

TEST_F(EmitterTest, AHubThatDoesNotAnswerTimesOut) {
    ScriptedHub hub({Step{Step::Action::kStall, 0, "", ""}});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) {
        o.timeout = milliseconds(200);
        o.max_retries = 0;
    });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().kind, ErrorKind::kTimeout);
    EXPECT_EQ(sent.error().message, "receive: nothing within 200 ms");
    EXPECT_EQ(sent.error().attempts, 1U);
}

TEST_F(EmitterTest, TheConnectionRecoversAfterATimeout) {
    ScriptedHub hub({Step{Step::Action::kStall, 0, "", ""}, Step::accepted(1)});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) {
        o.timeout = milliseconds(200);
        o.max_retries = 1;
    });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(hub.connections(), 2U);
}

TEST_F(EmitterTest, BatchesAreSentInChunksOfMaxBatch) {
    ScriptedHub hub({Step::accepted(2), Step::accepted(2), Step::accepted(1)});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) { o.max_batch = 2; });
    std::vector<Event> events;
    events.reserve(5);
    for (int i = 0; i < 5; ++i) {
        std::string room = std::to_string(i);
        room.insert(0, "user_");  // not "user_" + ...: GCC 12 -Wrestrict false positive
        events.push_back(Event{{std::move(room)}, "e", json::value(i), {}, {}});
    }
    const auto sent = emitter.emit_batch(events);
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(sent->events, 5U);
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 3U);
    EXPECT_EQ(json::parse(requests[0].body).at("events").as_array().size(), 2U);
    EXPECT_EQ(json::parse(requests[1].body).at("events").at(1).at("rooms").at(0), "user_3");
    EXPECT_EQ(fakes::without_ids(requests[2].body),
              json::parse(R"({"rooms":["user_4"],"event":"e","data":4})"));
}

TEST_F(EmitterTest, AFailedChunkStopsTheBatchAndSaysHowManyWentThrough) {
    ScriptedHub hub(
        {Step::accepted(2), Step::error(400, "invalid_field", "events[1].rooms[0]: bad")});
    Emitter emitter = make(hub.url(), [](EmitterOptions& o) { o.max_batch = 2; });
    const std::vector<Event> events(6, Event{{"a"}, "e", std::nullopt, {}, {}});
    const auto sent = emitter.emit_batch(events);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().kind, ErrorKind::kRejected);
    EXPECT_EQ(sent.error().accepted, 2U);
    EXPECT_EQ(hub.requests().size(), 2U);
    EXPECT_NE(sent.error().describe().find("the 2 events before it were accepted"),
              std::string::npos);
}

TEST_F(EmitterTest, AnEmptyBatchSendsNothing) {
    ScriptedHub hub({});
    Emitter emitter = make(hub.url());
    const auto sent = emitter.emit_batch({});
    ASSERT_TRUE(sent);
    EXPECT_EQ(sent->events, 0U);
    EXPECT_EQ(hub.connections(), 0U);
}

TEST_F(EmitterTest, ACountThatDoesNotMatchIsAnErrorNotASuccess) {
    ScriptedHub hub({Step::accepted(0)});
    Emitter emitter = make(hub.url());
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().kind, ErrorKind::kBadResponse);
    EXPECT_EQ(sent.error().attempts, 1U);
}

TEST(EmitterCreate, RefusesBadOptions) {
    using Change = void (*)(EmitterOptions&);
    const std::pair<Change, std::string_view> cases[] = {
        {[](EmitterOptions& o) { o.url = "https://hub"; }, "hub URL must start with http://"},
        {[](EmitterOptions& o) { o.api_key = ""; }, "the API key is empty"},
        {[](EmitterOptions& o) { o.api_key = std::string("key\r\nX-Injected: 1"); },
         "the API key contains a control character"},
        {[](EmitterOptions& o) { o.max_batch = 0; }, "max_batch must be at least 1"},
        {[](EmitterOptions& o) { o.timeout = milliseconds(0); }, "timeout must be positive"},
        {[](EmitterOptions& o) { o.backoff = milliseconds(-1); }, "must not be negative"},
        {[](EmitterOptions& o) { o.max_backoff = milliseconds(-1); }, "must not be negative"},
    };
    for (const auto& [change, why] : cases) {
        // Constructed, not assigned from a literal: GCC 12 -Wrestrict false positive.
        EmitterOptions options;
        options.url = std::string("http://hub");
        options.api_key = std::string(1, 'k');  // not = "k": GCC 12 -Wrestrict false positive
        change(options);
        const auto emitter = Emitter::create(std::move(options));
        ASSERT_FALSE(emitter) << why;
        EXPECT_EQ(emitter.error().kind, ErrorKind::kInvalidArgument);
        EXPECT_NE(emitter.error().message.find(why), std::string::npos) << emitter.error().message;
    }
}

TEST_F(EmitterTest, MembershipRequestsPostTheirBodiesToTheRoomsRoutes) {
    const Step ok = Step::answer(202, R"({"accepted":true})");
    ScriptedHub hub({ok, ok, ok});
    Emitter emitter = make(hub.url());
    const auto joined = emitter.sockets_join({emitter.room_for("1")}, {"team_7"}, {"user_2"});
    ASSERT_TRUE(joined) << joined.error().describe();
    ASSERT_TRUE(emitter.sockets_leave({"user_1", "org_1"}, {"team_7", "team_8"}));
    ASSERT_TRUE(emitter.disconnect_sockets({"user_1"}));
    const auto requests = hub.requests();
    ASSERT_EQ(requests.size(), 3U);
    EXPECT_EQ(requests[0].target, "/api/v1/rooms/join");
    EXPECT_EQ(json::parse(requests[0].body),
              json::parse(R"({"rooms":["user_1"],"except":["user_2"],"join":["team_7"]})"));
    EXPECT_EQ(requests[1].target, "/api/v1/rooms/leave");
    EXPECT_EQ(json::parse(requests[1].body),
              json::parse(R"({"rooms":["user_1","org_1"],"leave":["team_7","team_8"]})"));
    EXPECT_EQ(requests[2].target, "/api/v1/rooms/disconnect");
    EXPECT_EQ(json::parse(requests[2].body), json::parse(R"({"rooms":["user_1"]})"));
    EXPECT_EQ(requests[2].authorization, "Bearer k3y");
}

TEST_F(EmitterTest, MembershipRequestsWithoutRoomsAreRefusedWithoutSending) {
    ScriptedHub hub({Step::answer(202, R"({"accepted":true})")});
    Emitter emitter = make(hub.url());
    const auto no_rooms = emitter.disconnect_sockets({});
    ASSERT_FALSE(no_rooms);
    EXPECT_EQ(no_rooms.error().kind, ErrorKind::kInvalidArgument);
    const auto no_targets = emitter.sockets_join({"user_1"}, {});
    ASSERT_FALSE(no_targets);
    EXPECT_EQ(no_targets.error().message, "join: give at least one room to join");
    EXPECT_TRUE(hub.requests().empty());
}

}  // namespace
}  // namespace nudge
