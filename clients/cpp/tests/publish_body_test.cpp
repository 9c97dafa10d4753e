#include "publish_body.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace nudge::detail {
namespace {

namespace json = boost::json;

TEST(PublishBody, OneEventWithoutDataOrExcept) {
    const Event event{{"user_1"}, "balance_updated", std::nullopt, {}};
    EXPECT_EQ(publish_body(std::span(&event, 1)),
              R"({"rooms":["user_1"],"event":"balance_updated"})");
}

TEST(PublishBody, OneEventWithDataAndExcept) {
    const Event event{{"a", "b"}, "e", json::parse(R"({"x":[1,"2",null]})"), {"c"}};
    EXPECT_EQ(publish_body(std::span(&event, 1)),
              R"({"rooms":["a","b"],"event":"e","data":{"x":[1,"2",null]},"except":["c"]})");
}

TEST(PublishBody, ExplicitNullDataIsSent) {
    // A handler called with null differs from one called without an argument.
    const Event event{{"a"}, "e", json::value(nullptr), {}};
    EXPECT_EQ(publish_body(std::span(&event, 1)), R"({"rooms":["a"],"event":"e","data":null})");
}

TEST(PublishBody, VersionAndSpreadAreSentWhenGiven) {
    Event event{{"a"}, "e", std::nullopt, {}};
    event.version = "0/16B3748";
    event.spread_ms = 0;
    EXPECT_EQ(publish_body(std::span(&event, 1)),
              R"({"rooms":["a"],"event":"e","version":"0/16B3748","spread":0})");
    EXPECT_EQ(event_fields_error(event), "");
}

TEST(PublishBody, VersionAndSpreadAreCheckedAsTheHubChecksThem) {
    for (const char* good : {"0/0", "FFFFFFFF/ffffffff", "0", "18446744073709551615", "00012"}) {
        Event event{{"a"}, "e", std::nullopt, {}};
        event.version = good;
        EXPECT_EQ(event_fields_error(event), "") << good;
    }
    for (const char* bad : {"/1", "1/", "123456789/1", "1/123456789", "G/0", "0x1", "-1", "1.0",
                            " 1", "18446744073709551616", "123456789012345678901", "1/2/3"}) {
        Event event{{"a"}, "e", std::nullopt, {}};
        event.version = bad;
        EXPECT_TRUE(event_fields_error(event).starts_with("version must be a Postgres LSN")) << bad;
    }
    Event event{{"a"}, "e", std::nullopt, {}};
    event.spread_ms = kMaxSpreadMs;
    EXPECT_EQ(event_fields_error(event), "");
    event.spread_ms = kMaxSpreadMs + 1;
    EXPECT_EQ(event_fields_error(event), "spread must be from 0 to 60000 ms, got 60001");
}

TEST(PublishBody, NamesAreJsonEscaped) {
    const Event event{{"quote\"room"}, "new\nline\\", std::nullopt, {"tab\t"}};
    const json::value parsed = json::parse(publish_body(std::span(&event, 1)));
    EXPECT_EQ(parsed.at("rooms").at(0).as_string(), "quote\"room");
    EXPECT_EQ(parsed.at("event").as_string(), "new\nline\\");
    EXPECT_EQ(parsed.at("except").at(0).as_string(), "tab\t");
}

// Plain strings are copied without a serializer; every other string must come out exactly
// as Boost.JSON writes it (quote, backslash, control characters, DEL, UTF-8).
TEST(PublishBody, StringsAreWrittenAsBoostJsonWritesThem) {
    const std::initializer_list<std::string> texts{
        "user_1", "", "a\"b", "back\\slash", std::string("nul\0x", 5),
        "\x01\x1f", "del\x7f", "caf\xc3\xa9", "\xe2\x82\xac 5"};
    for (const std::string& text : texts) {
        const Event event{{text}, text, std::nullopt, {}};
        const std::string quoted = json::serialize(json::string_view(text.data(), text.size()));
        std::string expected = R"({"rooms":[)";
        expected.append(quoted).append(R"(],"event":)").append(quoted).append("}");
        EXPECT_EQ(publish_body(std::span(&event, 1)), expected) << text;
    }
}

TEST(PublishBody, SeveralEventsAreABatch) {
    const std::vector<Event> events{{{"a"}, "one", json::value(1), {}},
                                    {{"b", "c"}, "two", std::nullopt, {"d"}}};
    EXPECT_EQ(publish_body(events), R"({"events":[{"rooms":["a"],"event":"one","data":1},)"
                                    R"({"rooms":["b","c"],"event":"two","except":["d"]}]})");
}

}  // namespace
}  // namespace nudge::detail
