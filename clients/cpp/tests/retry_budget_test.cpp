// The default retry policy against ScriptedHub: it rides out a hub whose Redis broker is down
// for ~30 s. Such a hub answers 503 "broker_unavailable" with Retry-After: 1; the emitter waits
// 1, 2, 4, 8, 8, ... s (from the Retry-After, doubling, capped at 8 s, ±20 %) until 30 s have
// passed since the first attempt, sending the same ids every time. The emitter's clock is a
// fake one that only its sleeps move on, so nothing here waits.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "nudge/emitter.hpp"
#include "scripted_hub.hpp"

namespace nudge {
namespace {

namespace json = boost::json;
using fakes::ScriptedHub;
using fakes::Step;
using std::chrono::milliseconds;

Step broker_unavailable() {
    return Step::answer(
        503,
        R"({"error":{"code":"broker_unavailable","message":"the message broker is unreachable"}})",
        "1");
}

std::vector<Step> repeated(const Step& step, std::size_t times, std::vector<Step> then = {}) {
    std::vector<Step> script(times, step);
    script.insert(script.end(), then.begin(), then.end());
    return script;
}

struct RetryBudgetTest : ::testing::Test {
    std::vector<milliseconds> waits;
    std::chrono::steady_clock::time_point clock{};

    // The default options except the clock (and the jitter, when `exact`).
    Emitter make(const std::string& url, bool exact,
                 const std::function<void(EmitterOptions&)>& configure = nullptr) {
        EmitterOptions options;
        options.url = url;
        options.api_key = "k3y";
        if (exact) options.jitter = [] { return 1.0; };
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

// Every request of the hub carried the same body, ids included.
void expect_one_body(const ScriptedHub& hub) {
    const auto requests = hub.requests();
    ASSERT_FALSE(requests.empty());
    for (const auto& request : requests) EXPECT_EQ(request.body, requests[0].body);
}

TEST_F(RetryBudgetTest, FiveBrokerUnavailableAnswersThenAcceptedIsOneSuccessWithOneId) {
    ScriptedHub hub(repeated(broker_unavailable(), 5, {Step::accepted(1)}));
    Emitter emitter = make(hub.url(), true);
    const auto sent = emitter.emit_event("7", "balance_updated");
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(sent->events, 1U);
    EXPECT_EQ(hub.requests().size(), 6U);
    expect_one_body(hub);
    const json::value body = json::parse(hub.requests().at(0).body);
    EXPECT_EQ(body.at("id").as_string().size(), 32U);
    EXPECT_EQ(waits,
              (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000), milliseconds(4000),
                                         milliseconds(8000), milliseconds(8000)}));
}

TEST_F(RetryBudgetTest, TheDefaultJitterStaysWithin20PercentAndNeverUnderTheRetryAfter) {
    ScriptedHub hub(repeated(broker_unavailable(), 5, {Step::accepted(1)}));
    Emitter emitter = make(hub.url(), false);
    ASSERT_TRUE(emitter.emit({"a"}, "e"));
    ASSERT_EQ(waits.size(), 5U);
    const std::vector<long> full{1000, 2000, 4000, 8000, 8000};
    for (std::size_t i = 0; i < waits.size(); ++i) {
        EXPECT_GE(waits[i].count(), std::max(1000L, full[i] * 8 / 10)) << i;
        EXPECT_LE(waits[i].count(), full[i] * 12 / 10) << i;
    }
}

TEST_F(RetryBudgetTest, TheBudgetSpentNamesTheLastStatusAndCode) {
    ScriptedHub hub(repeated(broker_unavailable(), 10));
    Emitter emitter = make(hub.url(), true);
    const auto sent = emitter.emit({"user_1"}, "balance_updated");
    ASSERT_FALSE(sent);
    const EmitError& error = sent.error();
    EXPECT_EQ(error.kind, ErrorKind::kUnavailable);
    EXPECT_EQ(error.status, 503U);
    EXPECT_EQ(error.code, "broker_unavailable");
    // 1, 2, 4, 8, 8 s (23 s), then the 7 s left of the budget, then one last attempt.
    EXPECT_EQ(error.attempts, 7U);
    EXPECT_EQ(hub.requests().size(), 7U);
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000),
                                                milliseconds(4000), milliseconds(8000),
                                                milliseconds(8000), milliseconds(7000)}));
    EXPECT_EQ(error.retry_budget_spent, milliseconds(30000));
    EXPECT_EQ(error.describe(),
              "the hub at " + hub.url() +
                  " is unavailable (503 broker_unavailable): the message broker is unreachable "
                  "(after 7 attempts, retry budget of 30000 ms spent)");
    expect_one_body(hub);
}

TEST_F(RetryBudgetTest, ASmallerBudgetAndAZeroOne) {
    ScriptedHub hub(repeated(broker_unavailable(), 4));
    Emitter emitter =
        make(hub.url(), true, [](EmitterOptions& o) { o.retry_budget = milliseconds(2500); });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().attempts, 3U);
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(1500)}));

    waits.clear();
    Emitter once = make(hub.url(), true, [](EmitterOptions& o) { o.retry_budget = {}; });
    const auto refused = once.emit({"a"}, "e");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().attempts, 1U);
    EXPECT_EQ(refused.error().code, "broker_unavailable");
    EXPECT_TRUE(waits.empty());
    EXPECT_EQ(hub.requests().size(), 4U);
}

TEST_F(RetryBudgetTest, MaxRetriesStillBoundsTheRetriesWithinTheBudget) {
    ScriptedHub hub(repeated(broker_unavailable(), 3));
    Emitter emitter = make(hub.url(), true, [](EmitterOptions& o) { o.max_retries = 2; });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().attempts, 3U);
    EXPECT_FALSE(sent.error().retry_budget_spent.has_value());
    EXPECT_TRUE(sent.error().describe().ends_with("(after 3 attempts)")) << sent.error().describe();
    EXPECT_EQ(waits.size(), 2U);
}

TEST_F(RetryBudgetTest, AnUnreachableHubIsRetriedForTheWholeBudgetFrom500Ms) {
    const std::string url = fakes::unused_url();
    Emitter emitter = make(url, true);
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().kind, ErrorKind::kUnreachable);
    EXPECT_EQ(sent.error().attempts, 8U);
    EXPECT_EQ(waits,
              (std::vector<milliseconds>{milliseconds(500), milliseconds(1000), milliseconds(2000),
                                         milliseconds(4000), milliseconds(8000), milliseconds(8000),
                                         milliseconds(6500)}));
    EXPECT_NE(sent.error().describe().find("(after 8 attempts, retry budget of 30000 ms spent)"),
              std::string::npos)
        << sent.error().describe();
}

TEST_F(RetryBudgetTest, OnRetryIsCalledBeforeEachWaitWithTheFailureAndTheBudgetLeft) {
    const std::string url = fakes::unused_url();
    std::vector<std::pair<unsigned, milliseconds>> calls;
    std::string first;
    Emitter emitter = make(url, true, [&](EmitterOptions& o) {
        o.retry_budget = milliseconds(2000);
        o.on_retry = [&](const EmitError& error, milliseconds left) {
            if (calls.empty()) first = error.describe();
            calls.emplace_back(error.attempts, left);
        };
    });
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    // Attempts at 0, 0.5 and 1.5 s; the last wait is cut to the 0.5 s left, then one last try.
    EXPECT_EQ(calls, (std::vector<std::pair<unsigned, milliseconds>>{
                         {1U, milliseconds(2000)}, {2U, milliseconds(1500)}, {3U, milliseconds(500)}}));
    EXPECT_NE(first.find(url), std::string::npos) << first;
    EXPECT_EQ(sent.error().attempts, 4U);
}

TEST_F(RetryBudgetTest, ADroppedConnectionIsRetriedWithTheSameIds) {
    ScriptedHub hub({Step{Step::Action::kCloseWithoutAnswer, 0, "", ""}, broker_unavailable(),
                     Step::accepted(2)});
    Emitter emitter = make(hub.url(), true);
    const std::vector<Event> events{Event{{"a"}, "e1", std::nullopt, {}, {}},
                                    Event{{"b"}, "e2", std::nullopt, {}, {}}};
    const auto sent = emitter.emit_batch(events);
    ASSERT_TRUE(sent) << sent.error().describe();
    EXPECT_EQ(hub.requests().size(), 3U);
    expect_one_body(hub);
    // No Retry-After after the drop: 500 ms; then the hub's 1 s, doubled for the second retry.
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(500), milliseconds(2000)}));
}

TEST_F(RetryBudgetTest, A400IsNeverRetriedEvenAfter503s) {
    ScriptedHub hub({broker_unavailable(), broker_unavailable(),
                     Step::error(400, "invalid_field", "room: too long")});
    Emitter emitter = make(hub.url(), true);
    const auto sent = emitter.emit({"a"}, "e");
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error().kind, ErrorKind::kRejected);
    EXPECT_EQ(sent.error().code, "invalid_field");
    EXPECT_EQ(sent.error().attempts, 3U);
    EXPECT_FALSE(sent.error().retry_budget_spent.has_value());
    EXPECT_EQ(hub.requests().size(), 3U);
    EXPECT_EQ(waits.size(), 2U);
}

TEST_F(RetryBudgetTest, ANegativeBudgetIsRefused) {
    EmitterOptions options;
    options.api_key = "k3y";
    options.retry_budget = milliseconds(-1);
    const auto created = Emitter::create(std::move(options));
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(created.error().message.find("retry_budget"), std::string::npos);
}

}  // namespace
}  // namespace nudge
