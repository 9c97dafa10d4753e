#include "api/publish_request.hpp"

#include <gtest/gtest.h>

namespace nudge::api {
namespace {

const PublishLimits kLimits{};

hub::EmitBatch ok(std::string_view body) {
    auto result = parse_publish(body, kLimits);
    EXPECT_TRUE(result) << body << " → " << (result ? "" : result.error().message);
    return result ? *result : hub::EmitBatch{};
}

ApiError bad(std::string_view body) {
    auto result = parse_publish(body, kLimits);
    EXPECT_FALSE(result) << body;
    return result ? ApiError{} : result.error();
}

TEST(ParsePublish, SingleRoomEvent) {
    const auto batch = ok(R"({"room":"user_123","event":"balance_updated","data":{"a":[1,"x"]}})");
    ASSERT_EQ(batch.size(), 1U);
    EXPECT_EQ(batch[0].rooms, std::vector<std::string>{"user_123"});
    EXPECT_EQ(batch[0].event, "balance_updated");
    EXPECT_EQ(batch[0].data_json, R"({"a":[1,"x"]})");
    EXPECT_TRUE(batch[0].except.empty());
}

TEST(ParsePublish, RoomsExceptAndNoData) {
    const auto batch = ok(R"({"rooms":["a","b"],"except":["c"],"event":"e"})");
    ASSERT_EQ(batch.size(), 1U);
    EXPECT_EQ(batch[0].rooms, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(batch[0].except, std::vector<std::string>{"c"});
    EXPECT_EQ(batch[0].data_json, "");
    EXPECT_EQ(ok(R"({"room":"a","event":"e","data":null})")[0].data_json, "null");
}

TEST(ParsePublish, Batch) {
    const auto batch = ok(R"({"events":[{"room":"a","event":"x"},{"rooms":["b"],"event":"y","data":2}]})");
    ASSERT_EQ(batch.size(), 2U);
    EXPECT_EQ(batch[1].event, "y");
    EXPECT_EQ(batch[1].data_json, "2");
}

TEST(ParsePublish, ErrorsNameTheField) {
    EXPECT_EQ(bad("{nope").code, "invalid_json");
    EXPECT_EQ(bad("[1]").code, "invalid_body");
    EXPECT_EQ(bad(R"({"room":"a"})").message, "event: required");
    EXPECT_EQ(bad(R"({"room":"a","event":""})").message, "event: must be a non-empty string");
    EXPECT_EQ(bad(R"({"room":"a","event":5})").code, "invalid_field");
    EXPECT_EQ(bad(R"({"event":"e"})").code, "missing_field");
    EXPECT_EQ(bad(R"({"rooms":[1],"event":"e"})").message, "rooms[0]: must be a non-empty string");
    EXPECT_EQ(bad(R"({"rooms":"a","event":"e"})").message, "rooms: must be an array of strings");
    EXPECT_EQ(bad(R"({"rooms":[],"event":"e"})").message, "rooms: must not be empty");
    EXPECT_EQ(bad(R"({"room":"a","rooms":["b"],"event":"e"})").code, "invalid_field");
    EXPECT_EQ(bad(R"({"room":"a","event":"e","except":[null]})").message,
              "except[0]: must be a non-empty string");
    EXPECT_EQ(bad(R"({"romm":"a","event":"e"})").message, "romm: unknown field");
    EXPECT_EQ(bad(R"({"events":[{"room":"a","event":"e"},{"room":"a"}]})").message,
              "events[1].event: required");
    EXPECT_EQ(bad(R"({"events":[]})").code, "invalid_field");
    EXPECT_EQ(bad(R"({"events":[{"room":"a","event":"e"}],"room":"x"})").code, "invalid_body");
    EXPECT_EQ(bad(R"({"events":[5]})").message, "events[0]: must be a JSON object");
}

TEST(ParsePublish, ReservedEventNames) {
    for (const char* name : {"connect", "disconnect", "connect_error", "disconnecting",
                             "newListener", "removeListener"}) {
        const auto error = bad(std::string(R"({"room":"a","event":")") + name + "\"}");
        EXPECT_EQ(error.code, "reserved_event") << name;
        EXPECT_EQ(error.status, 400);
    }
}

TEST(ParsePublish, Limits) {
    PublishLimits tight;
    tight.max_events = 2;
    tight.max_rooms = 2;
    tight.max_name_bytes = 4;
    EXPECT_EQ(parse_publish(R"({"events":[{"room":"a","event":"e"},{"room":"a","event":"e"},{"room":"a","event":"e"}]})", tight).error().code,
              "too_many_events");
    EXPECT_EQ(parse_publish(R"({"rooms":["a","b","c"],"event":"e"})", tight).error().code, "invalid_field");
    EXPECT_EQ(parse_publish(R"({"rooms":["a","b"],"except":["c"],"event":"e"})", tight).error().code,
              "invalid_field");
    EXPECT_EQ(parse_publish(R"({"room":"abcde","event":"e"})", tight).error().message,
              "room: longer than 4 bytes");
}

TEST(ErrorBody, IsTheDocumentedShape) {
    EXPECT_EQ(error_body(ApiError{400, "invalid_json", "body: \"x\""}),
              R"({"error":{"code":"invalid_json","message":"body: \"x\""}})");
}

}  // namespace
}  // namespace nudge::api
