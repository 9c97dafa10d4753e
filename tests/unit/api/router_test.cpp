#include "api/router.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace nudge::api {
namespace {

struct RecordingBroker final : broker::Broker {
    broker::PublishResult publish(hub::SharedBatch batch) override {
        if (overloaded) return broker::PublishResult::kOverloaded;
        batches.push_back(std::move(batch));
        return broker::PublishResult::kAccepted;
    }
    std::vector<hub::SharedBatch> batches;
    bool overloaded = false;
};

struct RouterTest : ::testing::Test {
    RecordingBroker broker;
    bool ready = true;
    Router router{Config{"k3y", 1024, {}}, broker, [this] { return ready; }};

    Response call(std::string_view method, std::string_view target, std::string_view body = {},
                  std::string_view auth = "Bearer k3y") {
        return router.handle(Request{method, target, auth, body});
    }
};

TEST_F(RouterTest, PublishAcceptsAndForwardsToTheBroker) {
    const auto r = call("POST", "/api/v1/emit", R"({"room":"user_1","event":"e"})");
    EXPECT_EQ(r.status, 202U);
    EXPECT_EQ(r.body, R"({"accepted":1})");
    ASSERT_EQ(broker.batches.size(), 1U);
    EXPECT_EQ((*broker.batches[0])[0].rooms[0], "user_1");

    const auto batch = call("POST", "/api/v1/emit?x=1",
                            R"({"events":[{"room":"a","event":"e"},{"room":"b","event":"e"}]})");
    EXPECT_EQ(batch.body, R"({"accepted":2})");
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
    broker.overloaded = true;
    const auto r = call("POST", "/api/v1/emit", R"({"room":"a","event":"e"})");
    EXPECT_EQ(r.status, 503U);
    EXPECT_EQ(r.retry_after, "1");
    EXPECT_NE(r.body.find(R"("code":"overloaded")"), std::string::npos);
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
    EXPECT_EQ(call("GET", "/healthz").body, R"({"status":"ok"})");

    ready = true;
    EXPECT_EQ(call("GET", "/readyz").status, 200U);
}

TEST(RouterWithoutReadiness, ReadyzIs200WhenNoCallbackIsGiven) {
    RecordingBroker broker;
    const Router router{Config{"k", 1024, {}}, broker, {}};
    EXPECT_EQ(router.handle(Request{"GET", "/readyz", "", ""}).status, 200U);
}

TEST(BearerMatches, ConstantTimeCompareSemantics) {
    EXPECT_TRUE(bearer_matches("Bearer abc", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abcd", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer ab", "abc"));
    EXPECT_FALSE(bearer_matches("Bearer abc", ""));  // an empty key never matches
}

}  // namespace
}  // namespace nudge::api
