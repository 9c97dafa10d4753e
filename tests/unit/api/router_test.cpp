#include "api/router.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "metrics/metrics.hpp"

namespace nudge::api {
namespace {

// The router answers through a callback; these brokers answer inline.
Response handle(const Router& router, const Request& request) {
    std::optional<Response> response;
    router.handle(request, [&](Response r) { response.emplace(std::move(r)); });
    EXPECT_TRUE(response.has_value());
    return response.value_or(Response{0, ""});
}

struct RecordingBroker final : broker::Broker {
    void publish(hub::EmitBatch batch, std::function<void(broker::PublishOutcome)> done) override {
        done(publish_now(std::move(batch)));
    }
    broker::PublishOutcome publish_now(hub::EmitBatch batch) {
        if (refusal) return {*refusal, "ep", {}};
        broker::PublishOutcome outcome{broker::PublishResult::kAccepted, "ep", {}};
        for (const auto& emit : batch) {
            // An id seen before is a duplicate of its first event, as the real brokers answer.
            const bool duplicate = !emit.id.empty() && ids.count(emit.id) > 0;
            if (!duplicate) ids.emplace(emit.id, ++seq);
            outcome.events.push_back({duplicate ? ids[emit.id] : seq, duplicate});
        }
        batches.push_back(std::make_shared<const hub::EmitBatch>(std::move(batch)));
        return outcome;
    }
    void recover(broker::RecoveryRequest request,
                 std::function<void(broker::Recovery)> done) override {
        recoveries.push_back(std::move(request));
        broker::Recovery answer;
        answer.now = Position{epoch, seq};
        done(std::move(answer));
    }
    void apply(hub::SharedRoomOp op, std::function<void(broker::PublishResult)> done) override {
        if (refusal) {
            done(*refusal);
            return;
        }
        ops.push_back(std::move(op));
        done(broker::PublishResult::kAccepted);
    }
    broker::Health health() const override { return {"redis", connected}; }
    std::vector<hub::SharedBatch> batches;
    std::vector<hub::SharedRoomOp> ops;
    std::map<std::string, std::uint64_t> ids;
    std::uint64_t seq = 0;
    std::string epoch = "ep";
    std::vector<broker::RecoveryRequest> recoveries;
    std::optional<broker::PublishResult> refusal;
    bool connected = true;
};

struct RouterTest : ::testing::Test {
    RecordingBroker broker;
    bool ready = true;
    Router router{Config{"k3y", 1024, {}, {}, false}, broker, [this] { return ready; }};

    Response call(std::string_view method, std::string_view target, std::string_view body = {},
                  std::string_view auth = "Bearer k3y") {
        return handle(router, Request{method, target, auth, body, "10.0.0.1", Routes::kAll});
    }
};

TEST_F(RouterTest, PublishAcceptsAndForwardsToTheBroker) {
    const auto r = call("POST", "/api/v1/emit", R"({"room":"user_1","event":"e"})");
    EXPECT_EQ(r.status, 202U);
    EXPECT_EQ(r.body, R"({"accepted":1,"events":[{"offset":"ep:1"}]})");
    ASSERT_EQ(broker.batches.size(), 1U);
    EXPECT_EQ((*broker.batches[0])[0].rooms[0], "user_1");

    const auto batch = call("POST", "/api/v1/emit?x=1",
                            R"({"events":[{"room":"a","event":"e"},{"room":"b","event":"e"}]})");
    EXPECT_EQ(batch.body, R"({"accepted":2,"events":[{"offset":"ep:2"},{"offset":"ep:3"}]})");
}

TEST_F(RouterTest, PublishPassesIdsAndNamesDuplicates) {
    const auto first = call("POST", "/api/v1/emit", R"({"room":"a","event":"e","id":"k1"})");
    EXPECT_EQ(first.body, R"({"accepted":1,"events":[{"offset":"ep:1"}]})");
    ASSERT_EQ(broker.batches.size(), 1U);
    EXPECT_EQ((*broker.batches[0])[0].id, "k1");
    const auto again = call("POST", "/api/v1/emit",
                            R"({"events":[{"room":"a","event":"e","id":"k1"},{"room":"a","event":"e","id":"k2"}]})");
    EXPECT_EQ(again.status, 202U);
    EXPECT_EQ(again.body,
              R"({"accepted":2,"events":[{"offset":"ep:1","duplicate":true},{"offset":"ep:2"}]})");
    for (std::string_view bad : {R"({"room":"a","event":"e","id":""})", R"({"room":"a","event":"e","id":7})"}) {
        const auto r = call("POST", "/api/v1/emit", bad);
        EXPECT_EQ(r.status, 400U) << bad;
        EXPECT_NE(r.body.find("\"id: must be a string"), std::string::npos) << r.body;
    }
}

TEST_F(RouterTest, RoomRoutesForwardOperationsToTheBroker) {
    const auto join = call("POST", "/api/v1/rooms/join", R"({"room":"user_1","join":["team_7"]})");
    EXPECT_EQ(join.status, 202U);
    EXPECT_EQ(join.body, R"({"accepted":true})");
    EXPECT_EQ(call("POST", "/api/v1/rooms/leave", R"({"room":"user_1","leave":["team_7"]})").status, 202U);
    EXPECT_EQ(call("POST", "/api/v1/rooms/disconnect", R"({"room":"user_1"})").status, 202U);
    ASSERT_EQ(broker.ops.size(), 3U);
    EXPECT_EQ(broker.ops[0]->kind, hub::RoomOpKind::kJoin);
    EXPECT_EQ(broker.ops[1]->kind, hub::RoomOpKind::kLeave);
    EXPECT_EQ(broker.ops[2]->kind, hub::RoomOpKind::kDisconnect);
    EXPECT_EQ(broker.ops[2]->rooms, std::vector<std::string>{"user_1"});

    EXPECT_EQ(call("POST", "/api/v1/rooms/join", R"({"room":"user_1"})").status, 400U);
    EXPECT_EQ(call("POST", "/api/v1/rooms/join", R"({"room":"u","join":["a"]})", "Bearer no").status, 401U);
    const auto get = call("GET", "/api/v1/rooms/join");
    EXPECT_EQ(get.status, 405U);
    EXPECT_EQ(get.allow, "POST");
    EXPECT_EQ(call("POST", "/api/v1/rooms/kick", "{}").status, 404U);
    EXPECT_EQ(broker.ops.size(), 3U);
    broker.refusal = broker::PublishResult::kOverloaded;
    const auto busy = call("POST", "/api/v1/rooms/disconnect", R"({"room":"user_1"})");
    EXPECT_EQ(busy.status, 503U);
    EXPECT_EQ(busy.retry_after, "1");
}

TEST_F(RouterTest, PositionAnswersTheBrokersPositionAsOffsetAndPid) {
    const Router with_recovery{Config{"k3y", 1024, {}, {}, false, true}, broker, {}};
    const auto get = [&](std::string_view method, std::string_view auth = "Bearer k3y") {
        return handle(with_recovery, Request{method, "/api/v1/position", auth, {}, "10.0.0.1", Routes::kAll});
    };
    call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})");
    call("POST", "/api/v1/emit", R"({"room":"b","event":"e"})");
    const auto r = get("GET");
    EXPECT_EQ(r.status, 200U);
    // {"offset":"ep:2","pid":"ep:2:<random>"}: the pid's position is the offset's.
    const std::string prefix = R"({"offset":"ep:2","pid":"ep:2:)";
    ASSERT_EQ(r.body.substr(0, prefix.size()), prefix) << r.body;
    const std::string pid = r.body.substr(r.body.find("\"pid\":\"") + 7);
    EXPECT_EQ(parse_pid(pid.substr(0, pid.size() - 2)), (Position{"ep", 2}));
    ASSERT_EQ(broker.recoveries.size(), 1U);
    EXPECT_TRUE(broker.recoveries[0].rooms.empty());
    EXPECT_FALSE(broker.recoveries[0].from.has_value());
    // Each answer's pid is its own (socket.recovered compares pids).
    EXPECT_NE(get("GET").body, r.body);

    EXPECT_EQ(get("GET", "Bearer nope").status, 401U);
    const auto post = get("POST");
    EXPECT_EQ(post.status, 405U);
    EXPECT_EQ(post.allow, "GET");

    broker.connected = false;
    const auto down = get("GET");
    EXPECT_EQ(down.status, 503U);
    EXPECT_NE(down.body.find("broker_unavailable"), std::string::npos) << down.body;
    EXPECT_EQ(down.retry_after, "1");
    broker.connected = true;
    broker.epoch.clear();  // a broker without positions
    EXPECT_EQ(get("GET").status, 503U);
}

TEST_F(RouterTest, PositionWithoutRecoveryIs409NamingTheFlag) {
    const auto r = call("GET", "/api/v1/position");
    EXPECT_EQ(r.status, 409U);
    EXPECT_NE(r.body.find(R"("code":"recovery_off")"), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("--recovery on"), std::string::npos) << r.body;
    EXPECT_TRUE(broker.recoveries.empty());
    EXPECT_EQ(call("GET", "/api/v1/position", {}, "Bearer nope").status, 401U);
}

TEST_F(RouterTest, PublishNeedsTheApiKey) {
    for (std::string_view auth : {"", "Bearer", "Bearer ", "Bearer k3", "Bearer k3y ", "Basic k3y",
                                  "k3y", "Bearer K3Y"}) {
        const auto r = call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})", auth);
        EXPECT_EQ(r.status, 401U) << auth;
        EXPECT_NE(r.body.find(R"("code":"unauthorized")"), std::string::npos);
    }
    EXPECT_EQ(call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})", "bearer k3y").status, 202U);
    EXPECT_TRUE(broker.batches.size() == 1);
}

TEST_F(RouterTest, AnOverloadedHubAnswers503WithRetryAfter) {
    broker.refusal = broker::PublishResult::kOverloaded;
    const auto r = call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})");
    EXPECT_EQ(r.status, 503U);
    EXPECT_EQ(r.retry_after, "1");
    EXPECT_NE(r.body.find(R"("code":"overloaded")"), std::string::npos);
}

TEST_F(RouterTest, AnUnreachableBrokerAnswers503BrokerUnavailable) {
    broker.refusal = broker::PublishResult::kUnavailable;
    broker.connected = false;
    for (const auto& r : {call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})"),
                          call("POST", "/api/v1/rooms/join", R"({"room":"u","join":["a"]})")}) {
        EXPECT_EQ(r.status, 503U);
        EXPECT_EQ(r.retry_after, "1");
        EXPECT_NE(r.body.find(R"("code":"broker_unavailable")"), std::string::npos) << r.body;
    }
    // The hub itself is alive; /healthz says the broker is not there.
    const auto health = call("GET", "/healthz");
    EXPECT_EQ(health.status, 200U);
    EXPECT_EQ(health.body, R"({"status":"ok","broker":{"kind":"redis","connected":false}})");
}

TEST_F(RouterTest, BadBodiesAre400WithJsonErrors) {
    const auto r = call("POST", "/api/v1/emit", R"({"room":"a","event":"connect"})");
    EXPECT_EQ(r.status, 400U);
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_NE(r.body.find(R"("code":"reserved_event")"), std::string::npos);
    EXPECT_TRUE(broker.batches.empty());
}

TEST_F(RouterTest, OtherRoutesAndMethods) {
    EXPECT_EQ(call("GET", "/api/v1/emit").status, 405U);
    EXPECT_EQ(call("GET", "/api/v1/emit").allow, "POST");
    EXPECT_EQ(call("GET", "/nope").status, 404U);
    EXPECT_EQ(call("GET", "/healthz").status, 200U);
    EXPECT_EQ(call("POST", "/healthz").status, 405U);
    const auto metrics = call("GET", "/metrics");
    EXPECT_EQ(metrics.status, 200U);
    EXPECT_NE(metrics.body.find("# TYPE nudge_connections gauge"), std::string::npos);
    EXPECT_NE(metrics.body.find("nudge_emits_total "), std::string::npos);
}

TEST_F(RouterTest, ReadyzFollowsReadinessWhileHealthzStaysLive) {
    EXPECT_EQ(call("GET", "/readyz").status, 200U);
    EXPECT_EQ(call("GET", "/readyz").body, R"({"status":"ready"})");
    EXPECT_EQ(call("HEAD", "/readyz").status, 200U);
    EXPECT_EQ(call("GET", "/readyz?verbose=1").status, 200U);
    EXPECT_EQ(call("POST", "/readyz").status, 405U);
    EXPECT_EQ(call("POST", "/readyz").allow, "GET, HEAD");

    ready = false;  // SIGTERM received: draining
    const auto draining = call("GET", "/readyz");
    EXPECT_EQ(draining.status, 503U);
    EXPECT_EQ(draining.body, R"({"status":"draining"})");
    EXPECT_EQ(draining.content_type, "application/json");
    // Liveness does not follow: the process is alive and still serving its clients.
    EXPECT_EQ(call("GET", "/healthz").status, 200U);
    EXPECT_EQ(call("GET", "/healthz").body, R"({"status":"ok","broker":{"kind":"redis","connected":true}})");

    ready = true;
    EXPECT_EQ(call("GET", "/readyz").status, 200U);
}

TEST(RouterWithoutReadiness, ReadyzIs200WhenNoCallbackIsGiven) {
    RecordingBroker broker;
    const Router router{Config{"k", 1024, {}, {}, false}, broker, {}};
    EXPECT_EQ(handle(router, Request{"GET", "/readyz", "", "", "10.0.0.1", Routes::kAll}).status, 200U);
}

TEST(BearerMatches, ConstantTimeCompareSemantics) {
    EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abc", ""));  // an empty key never matches
}

TEST_F(RouterTest, WrongApiKeysAreCounted) {
    const auto before = metrics::registry().api_auth_failures.read();
    EXPECT_EQ(call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})", "Bearer nope").status, 401U);
    EXPECT_EQ(call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})", "").status, 401U);
    EXPECT_EQ(metrics::registry().api_auth_failures.read(), before + 2);
}

TEST_F(RouterTest, BackoffAnswers429PerSourceWhenEnabled) {
    Config config{"k3y", 1024, {}, {}, false};
    config.auth_failures.backoff_failures = 3;
    config.auth_failures.backoff_window = std::chrono::seconds(60);
    const Router strict{config, broker, [] { return true; }};
    const auto post = [&](std::string_view auth, std::string_view remote) {
        return handle(strict, Request{"POST", "/api/v1/emit", auth, R"({"room":"a","event":"e"})",
                                     remote, Routes::kAll});
    };
    const auto backoffs = metrics::registry().api_auth_backoffs.read();
    EXPECT_EQ(post("Bearer bad", "10.0.0.9").status, 401U);
    EXPECT_EQ(post("Bearer bad", "10.0.0.9").status, 401U);
    EXPECT_EQ(post("Bearer bad", "10.0.0.9").status, 401U);  // the third starts the backoff
    const auto blocked = post("Bearer k3y", "10.0.0.9");      // even the right key waits
    EXPECT_EQ(blocked.status, 429U);
    EXPECT_NE(blocked.body.find(R"("code":"too_many_auth_failures")"), std::string::npos);
    EXPECT_FALSE(blocked.retry_after.empty());
    EXPECT_LE(std::stoi(blocked.retry_after), 60);
    EXPECT_GE(std::stoi(blocked.retry_after), 1);
    EXPECT_EQ(metrics::registry().api_auth_backoffs.read(), backoffs + 1);
    EXPECT_EQ(post("Bearer k3y", "10.0.0.10").status, 202U);  // other sources are unaffected
}

TEST_F(RouterTest, NoBackoffByDefault) {
    for (int i = 0; i < 50; ++i) {
        EXPECT_EQ(call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})", "Bearer bad").status, 401U);
    }
    EXPECT_EQ(call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})").status, 202U);
}

TEST_F(RouterTest, MetricsOnlyRoutesServeMetricsAndHealthOnly) {
    const auto only = [&](std::string_view method, std::string_view target) {
        return handle(router, Request{method, target, "Bearer k3y", R"({"room":"a","event":"e"})",
                                     "10.0.0.1", Routes::kMetricsOnly});
    };
    EXPECT_EQ(only("GET", "/metrics").status, 200U);
    EXPECT_EQ(only("GET", "/healthz").status, 200U);
    EXPECT_EQ(only("POST", "/api/v1/emit").status, 404U);
    EXPECT_EQ(only("GET", "/").status, 404U);
    EXPECT_TRUE(broker.batches.empty());
}

TEST_F(RouterTest, MetricsElsewhereHidesMetricsOnTheMainListener) {
    const Router split{Config{"k3y", 1024, {}, {}, true}, broker, [] { return true; }};
    EXPECT_EQ(handle(split, Request{"GET", "/metrics", "", "", "10.0.0.1", Routes::kAll}).status, 404U);
    EXPECT_EQ(handle(split, Request{"GET", "/healthz", "", "", "10.0.0.1", Routes::kAll}).status, 200U);
    EXPECT_EQ(handle(split, Request{"GET", "/metrics", "", "", "10.0.0.1", Routes::kMetricsOnly}).status,
              200U);
}

using Clock = AuthFailures::Clock;
using std::chrono::seconds;

TEST(AuthFailures, LogsAtMostOncePerSourcePerIntervalWithACount) {
    AuthFailures failures(AuthFailureConfig{0, seconds(60), seconds(10)});
    const Clock::time_point t0{};
    auto first = failures.record("1.2.3.4", t0);
    EXPECT_TRUE(first.log);
    EXPECT_EQ(first.failures, 1U);
    for (int i = 1; i <= 5; ++i) EXPECT_FALSE(failures.record("1.2.3.4", t0 + seconds(i)).log);
    EXPECT_TRUE(failures.record("5.6.7.8", t0 + seconds(5)).log);  // per source
    auto later = failures.record("1.2.3.4", t0 + seconds(10));
    EXPECT_TRUE(later.log);
    EXPECT_EQ(later.failures, 6U);  // the five suppressed ones and this one
    EXPECT_FALSE(failures.blocked("1.2.3.4", t0 + seconds(11)));  // backoff off
}

TEST(AuthFailures, BackoffBlocksForTheWindowThenLifts) {
    AuthFailures failures(AuthFailureConfig{2, seconds(30), seconds(10)});
    const Clock::time_point t0{};
    EXPECT_FALSE(failures.record("a", t0).now_blocked);
    EXPECT_FALSE(failures.blocked("a", t0));
    EXPECT_TRUE(failures.record("a", t0 + seconds(1)).now_blocked);
    EXPECT_EQ(failures.blocked("a", t0 + seconds(1)), seconds(30));
    EXPECT_EQ(failures.blocked("a", t0 + seconds(21)), seconds(10));
    EXPECT_FALSE(failures.blocked("a", t0 + seconds(31)));
    EXPECT_FALSE(failures.blocked("b", t0 + seconds(2)));
}

TEST(AuthFailures, FailuresOutsideTheWindowDoNotAddUp) {
    AuthFailures failures(AuthFailureConfig{2, seconds(30), seconds(10)});
    const Clock::time_point t0{};
    EXPECT_FALSE(failures.record("a", t0).now_blocked);
    EXPECT_FALSE(failures.record("a", t0 + seconds(31)).now_blocked);
    EXPECT_TRUE(failures.record("a", t0 + seconds(32)).now_blocked);
}

TEST(AuthFailures, TheTableIsBounded) {
    AuthFailures failures(AuthFailureConfig{3, seconds(30), seconds(10)});
    const Clock::time_point t0{};
    for (std::size_t i = 0; i < AuthFailures::kMaxSources * 2; ++i) {
        (void)failures.record(std::to_string(i), t0);
    }
    EXPECT_LE(failures.tracked(), AuthFailures::kMaxSources);
}

}  // namespace
}  // namespace nudge::api
