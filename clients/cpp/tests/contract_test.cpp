// The publish contract, replayed by the C++ emitter: every scenario of
// tests/contract/publish/answers.json (the hub's answers and what an emitter must make of them)
// against ScriptedHub, and every body it sends accepted by the hub's own parser
// (api::parse_publish, which tests/unit/api/publish_contract_test.cpp holds to the golden
// requests). The Python and Node emitters replay the same file.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "api/publish_request.hpp"
#include "nudge/emitter.hpp"
#include "scripted_hub.hpp"

namespace nudge {
namespace {

namespace json = boost::json;
using fakes::ScriptedHub;
using fakes::Step;

json::array scenarios() {
    std::ifstream in(NUDGE_CONTRACT_DIR "/publish/answers.json", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return json::parse(text.str()).at("scenarios").as_array();
}

std::vector<Step> script_of(const json::object& scenario) {
    std::vector<Step> script;
    for (const auto& answer : scenario.at("answers").as_array()) {
        const json::object& a = answer.as_object();
        std::string retry_after;
        if (const auto* headers = a.if_contains("headers")) {
            if (const auto* value = headers->as_object().if_contains("Retry-After")) {
                retry_after = std::string(value->as_string());
            }
        }
        script.push_back(Step::answer(static_cast<unsigned>(a.at("status").as_int64()),
                                      json::serialize(a.at("body")), retry_after));
    }
    return script;
}

std::vector<std::string> ids_of(const std::string& body) {
    const json::value parsed = json::parse(body);
    std::vector<std::string> ids;
    if (const auto* events = parsed.as_object().if_contains("events")) {
        for (const auto& event : events->as_array()) ids.emplace_back(event.at("id").as_string());
    } else {
        ids.emplace_back(parsed.at("id").as_string());
    }
    return ids;
}

TEST(PublishContract, EveryScenarioOfTheBehaviourFile) {
    const json::array all = scenarios();
    ASSERT_GE(all.size(), 5U);
    for (const auto& entry : all) {
        const json::object& scenario = entry.as_object();
        const std::string name(scenario.at("name").as_string());
        ScriptedHub hub(script_of(scenario));
        std::chrono::steady_clock::time_point clock{};
        std::vector<std::chrono::milliseconds> waits;
        EmitterOptions options;
        options.url = hub.url();
        options.api_key = "contract-test-api-key";
        options.sleep = [&clock, &waits](std::chrono::milliseconds wait) {
            waits.push_back(wait);
            clock += wait;
        };
        options.now = [&clock] { return clock; };
        auto emitter = Emitter::create(std::move(options));
        ASSERT_TRUE(emitter) << emitter.error().describe();

        std::vector<Event> events;
        const auto count = static_cast<std::size_t>(scenario.at("events").as_int64());
        for (std::size_t n = 0; n < count; ++n) {
            events.push_back(Event{{"user_" + std::to_string(n)}, "balance_updated",
                                   json::value{{"n", n}}, {}});
        }
        const auto result = emitter->emit_batch(events);
        const json::object& outcome = scenario.at("outcome").as_object();
        if (const auto* accepted = outcome.if_contains("accepted")) {
            ASSERT_TRUE(result) << name << ": " << result.error().describe();
            EXPECT_EQ(static_cast<std::int64_t>(result->events), accepted->as_int64()) << name;
        } else {
            ASSERT_FALSE(result) << name;
            const json::object& error = outcome.at("error").as_object();
            EXPECT_EQ(static_cast<std::int64_t>(result.error().status), error.at("status").as_int64())
                << name;
            EXPECT_EQ(result.error().code, error.at("code").as_string()) << name;
        }
        const auto requests = hub.requests();
        EXPECT_EQ(static_cast<std::int64_t>(requests.size()), outcome.at("requests").as_int64())
            << name;
        ASSERT_FALSE(requests.empty()) << name;
        // One wait per retry, none otherwise, each at least what the behaviour file says.
        EXPECT_EQ(waits.size() + 1, requests.size()) << name;
        if (const auto* least = outcome.if_contains("waits_at_least_ms")) {
            const json::array& expected = least->as_array();
            ASSERT_LE(expected.size(), waits.size()) << name;
            for (std::size_t n = 0; n < expected.size(); ++n) {
                EXPECT_GE(waits[n].count(), expected[n].as_int64()) << name << ": wait " << n;
            }
        }
        for (const auto& request : requests) {
            const auto parsed = api::parse_publish(request.body, api::PublishLimits{});
            EXPECT_TRUE(parsed) << name << ": the hub refuses " << request.body << ": "
                                << (parsed ? "" : parsed.error().message);
            // A retry is the same request: the same events with the same ids.
            EXPECT_EQ(ids_of(request.body), ids_of(requests[0].body)) << name;
        }
        EXPECT_EQ(ids_of(requests[0].body).size(), count) << name;
    }
}

}  // namespace
}  // namespace nudge
