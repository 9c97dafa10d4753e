// The publish contract's golden requests (tests/contract/publish/requests.json) through the hub's
// own parser: each body is accepted with its number of events, or refused with the status, the
// code and a message that starts with the field it names. The same file is posted to a real hub
// by tests/contract/publish.test.mjs and checked against docs/api/publish.schema.json there.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "api/publish_request.hpp"

namespace nudge::api {
namespace {

namespace json = boost::json;

json::array golden_cases() {
    std::ifstream in(NUDGE_CONTRACT_DIR "/publish/requests.json", std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    EXPECT_TRUE(in.good() || in.eof()) << "cannot read " NUDGE_CONTRACT_DIR "/publish/requests.json";
    return json::parse(text.str()).at("cases").as_array();
}

std::string body_of(const json::object& golden) {
    if (const auto* raw = golden.if_contains("raw")) return std::string(raw->as_string());
    return json::serialize(golden.at("body"));
}

TEST(PublishContract, EveryGoldenRequestGetsItsAnswer) {
    const json::array cases = golden_cases();
    ASSERT_GE(cases.size(), 10U);
    for (const auto& entry : cases) {
        const json::object& golden = entry.as_object();
        const std::string name(golden.at("name").as_string());
        const auto parsed = parse_publish(body_of(golden), PublishLimits{});
        const std::int64_t status = golden.at("status").as_int64();
        if (status == 202) {
            ASSERT_TRUE(parsed.has_value()) << name << ": " << parsed.error().message;
            EXPECT_EQ(static_cast<std::int64_t>(parsed->size()), golden.at("accepted").as_int64())
                << name;
            continue;
        }
        ASSERT_FALSE(parsed.has_value()) << name;
        EXPECT_EQ(parsed.error().status, status) << name;
        EXPECT_EQ(parsed.error().code, golden.at("code").as_string()) << name;
        const std::string field = std::string(golden.at("field").as_string()) + ":";
        EXPECT_EQ(parsed.error().message.rfind(field, 0), 0U)
            << name << ": \"" << parsed.error().message << "\" should start with " << field;
    }
}

}  // namespace
}  // namespace nudge::api
