// The publish contract, replayed by the C++ emitter: every scenario of
// tests/contract/publish/answers.json (the hub's answers and what an emitter must make of them)
// against ScriptedHub, and every body it sends accepted by the hub's own parser
// (api::parse_publish, which tests/unit/api/publish_contract_test.cpp holds to the golden
// requests). The Python and Node emitters replay the same file.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
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

json::value contract_file(const char* path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return json::parse(text.str());
}

json::array scenarios() {
    return contract_file(NUDGE_CONTRACT_DIR "/publish/answers.json").at("scenarios").as_array();
}

// `version` and `spread` of an event body as sent (absent ones left out).
json::object fields_of(const json::object& event) {
    json::object fields;
    for (const char* key : {"version", "spread"}) {
        if (const auto* value = event.if_contains(key)) fields[key] = *value;
    }
    return fields;
}

json::array events_of(const json::value& body) {
    if (const auto* events = body.as_object().if_contains("events")) return events->as_array();
    return json::array{body};
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
        // `fields` (version, spread) go on every event and must be sent as given.
        json::object fields;
        if (const auto* given = scenario.if_contains("fields")) fields = given->as_object();
        for (std::size_t n = 0; n < count; ++n) {
            Event event{{"user_" + std::to_string(n)}, "balance_updated", json::value{{"n", n}}, {}};
            if (const auto* version = fields.if_contains("version")) {
                event.version = std::string(version->as_string());
            }
            if (const auto* spread = fields.if_contains("spread")) {
                event.spread_ms = static_cast<std::uint32_t>(spread->as_int64());
            }
            events.push_back(std::move(event));
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
            for (const auto& event : events_of(json::parse(request.body))) {
                EXPECT_EQ(fields_of(event.as_object()), fields) << name << ": " << request.body;
            }
        }
        EXPECT_EQ(ids_of(requests[0].body).size(), count) << name;
    }
}

// The golden requests (tests/contract/publish/requests.json) that carry `version` or `spread`,
// as far as C++'s types can express them (a version is a string, an integer one its digits; a
// spread an unsigned 32-bit count): what the hub takes is sent as given and parsed by the hub's
// own parser; what the hub refuses with a 400 naming the field is refused before anything is
// sent, naming the same field. Cases the types rule out (a bool version, a negative or
// fractional spread) cannot be written in C++ and are left to the other emitters.
struct FieldCase {
    std::string name;
    json::value body;
    bool accepted = false;
    std::string field;
};

std::optional<Event> event_of(const json::object& body) {
    Event event;
    if (const auto* room = body.if_contains("room")) {
        event.rooms.emplace_back(room->as_string());
    } else {
        for (const auto& each : body.at("rooms").as_array()) event.rooms.emplace_back(each.as_string());
    }
    event.name = std::string(body.at("event").as_string());
    if (const auto* data = body.if_contains("data")) event.data = *data;
    if (const auto* version = body.if_contains("version")) {
        // C++ sends a version as text: a JSON integer becomes its digits, which the hub takes
        // up to 2^64 - 1, so the JSON-integer limit (2^53 - 1) does not apply to it.
        constexpr std::int64_t kMaxJsonInteger = (std::int64_t{1} << 53) - 1;
        if (version->is_string()) {
            event.version = std::string(version->as_string());
        } else if (version->is_int64() && version->as_int64() <= kMaxJsonInteger) {
            event.version = std::to_string(version->as_int64());  // negative: refused as text
        } else {
            return std::nullopt;
        }
    }
    if (const auto* spread = body.if_contains("spread")) {
        if (!spread->is_int64() || spread->as_int64() < 0 || spread->as_int64() > 0xFFFFFFFFLL) {
            return std::nullopt;
        }
        event.spread_ms = static_cast<std::uint32_t>(spread->as_int64());
    }
    return event;
}

TEST(PublishContract, TheGoldenRequestsWithAVersionOrASpread) {
    std::size_t accepted = 0;
    std::size_t refused_version = 0;
    std::size_t refused_spread = 0;
    const auto cases = contract_file(NUDGE_CONTRACT_DIR "/publish/requests.json").at("cases").as_array();
    for (const auto& entry : cases) {
        const json::object& c = entry.as_object();
        const auto* body = c.if_contains("body");
        if (body == nullptr || !body->is_object()) continue;
        const std::string name(c.at("name").as_string());
        const auto status = c.at("status").as_int64();
        const std::string field = c.contains("field") ? std::string(c.at("field").as_string()) : "";
        const bool names_a_field = field.ends_with("version") || field.ends_with("spread");
        bool carries = false;
        for (const auto& event : events_of(*body)) {
            carries = carries || (event.is_object() && !fields_of(event.as_object()).empty());
        }
        if (!carries || (status != 202 && !names_a_field)) continue;

        std::vector<Event> events;
        bool expressible = true;
        for (const auto& item : events_of(*body)) {
            auto event = event_of(item.as_object());
            expressible = expressible && event.has_value();
            if (event) events.push_back(std::move(*event));
        }
        if (!expressible) continue;

        ScriptedHub hub({Step::answer(202, R"({"accepted":)" + std::to_string(events.size()) + "}")});
        EmitterOptions options;
        options.url = hub.url();
        options.api_key = "contract-test-api-key";
        auto emitter = Emitter::create(std::move(options));
        ASSERT_TRUE(emitter);
        const bool batch = body->as_object().contains("events");
        const auto result = batch ? emitter->emit_batch(events) : emitter->emit(events.front());
        if (status == 202) {
            ++accepted;
            ASSERT_TRUE(result) << name << ": " << result.error().describe();
            ASSERT_EQ(hub.requests().size(), 1U) << name;
            const std::string sent = hub.requests()[0].body;
            const auto parsed = api::parse_publish(sent, api::PublishLimits{});
            ASSERT_TRUE(parsed) << name << ": the hub refuses " << sent;
            const auto sent_events = events_of(json::parse(sent));
            for (std::size_t i = 0; i < events.size(); ++i) {
                const json::object sent_fields = fields_of(sent_events[i].as_object());
                const auto* version = sent_fields.if_contains("version");
                EXPECT_EQ(version ? std::string(version->as_string()) : "", events[i].version) << name;
                const auto* spread = sent_fields.if_contains("spread");
                EXPECT_EQ(spread ? std::optional<std::uint32_t>(static_cast<std::uint32_t>(spread->as_int64()))
                                 : std::nullopt,
                          events[i].spread_ms)
                    << name;
            }
        } else {
            (field.ends_with("version") ? refused_version : refused_spread) += 1;
            ASSERT_FALSE(result) << name;
            EXPECT_EQ(result.error().kind, ErrorKind::kInvalidArgument) << name;
            EXPECT_TRUE(result.error().message.starts_with(field))
                << name << ": " << result.error().message << " names " << field;
            EXPECT_TRUE(hub.requests().empty()) << name;
        }
    }
    EXPECT_GT(accepted, 0U);
    EXPECT_GT(refused_version, 0U);
    EXPECT_GT(refused_spread, 0U);
}

}  // namespace
}  // namespace nudge
