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

TEST(ParsePublish, InvalidJsonNamesLineAndColumn) {
    EXPECT_EQ(bad("{nope").message.rfind("body: not valid JSON at line 1, column 2 (", 0), 0U)
        << bad("{nope").message;
    const auto second_line = bad("{\"room\": \"a\",\n \"event\": x}").message;
    EXPECT_EQ(second_line.rfind("body: not valid JSON at line 2, column 11 (", 0), 0U) << second_line;
    // Cut short: the position is the end of the body.
    const auto cut = bad(R"({"room":)").message;
    EXPECT_EQ(cut.rfind("body: not valid JSON at line 1, column 9 (", 0), 0U) << cut;
    // Text after the value: the position of that text, past the whitespace.
    const auto extra = bad("{\"room\":\"a\",\"event\":\"e\"}\n\n   x").message;
    EXPECT_EQ(extra.rfind("body: not valid JSON at line 3, column 4 (", 0), 0U) << extra;
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

TEST(ParsePublish, VersionIsKeptCanonical) {
    EXPECT_EQ(ok(R"({"room":"a","event":"e","version":"0/016b3748"})")[0].version, "0/16B3748");
    EXPECT_EQ(ok(R"({"room":"a","event":"e","version":"00042"})")[0].version, "42");
    EXPECT_EQ(ok(R"({"room":"a","event":"e","version":42})")[0].version, "42");
    EXPECT_EQ(ok(R"({"room":"a","event":"e","version":0})")[0].version, "0");
    EXPECT_EQ(ok(R"({"room":"a","event":"e"})")[0].version, "");
    const auto batch = ok(R"({"events":[{"room":"a","event":"x","version":"1/0"},{"room":"b","event":"y"}]})");
    EXPECT_EQ(batch[0].version, "1/0");
    EXPECT_EQ(batch[1].version, "");
}

TEST(ParsePublish, BadVersionNamesTheField) {
    for (const char* value : {"-1", "1.5", "true", "null", "{}", "[]", R"("")", R"("0/G")",
                              R"("123456789/0")", R"("100000000000000000000")",
                              R"("18446744073709551616")", "9007199254740992", R"("-3")"}) {
        const auto error = bad(std::string(R"({"room":"a","event":"e","version":)") + value + "}");
        EXPECT_EQ(error.code, "invalid_field") << value;
        EXPECT_EQ(error.message.rfind("version: ", 0), 0U) << value << " → " << error.message;
    }
    EXPECT_EQ(bad(R"({"events":[{"room":"a","event":"e","version":false}]})").message.rfind(
                  "events[0].version: ", 0),
              0U);
}

TEST(ParsePublish, Spread) {
    EXPECT_EQ(ok(R"({"room":"a","event":"e","spread":3000})")[0].spread_ms, 3000U);
    EXPECT_EQ(ok(R"({"room":"a","event":"e","spread":60000})")[0].spread_ms, 60000U);
    EXPECT_EQ(ok(R"({"room":"a","event":"e","spread":0})")[0].spread_ms, 0U);
    EXPECT_EQ(ok(R"({"room":"a","event":"e"})")[0].spread_ms, 0U);
    for (const char* value : {"-1", "60001", "2.5", R"("3000")", "true", "null", "18446744073709551615"}) {
        const auto error = bad(std::string(R"({"room":"a","event":"e","spread":)") + value + "}");
        EXPECT_EQ(error.code, "invalid_field") << value;
        EXPECT_EQ(error.message, "spread: must be an integer number of milliseconds from 0 to 60000")
            << value;
    }
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

TEST(ParseRoomOp, JoinLeaveDisconnect) {
    auto join = parse_room_op(hub::RoomOpKind::kJoin, R"({"room":"user_1","join":["team_7","t8"]})", kLimits);
    ASSERT_TRUE(join);
    EXPECT_EQ(join->kind, hub::RoomOpKind::kJoin);
    EXPECT_EQ(join->rooms, std::vector<std::string>{"user_1"});
    EXPECT_EQ(join->targets, (std::vector<std::string>{"team_7", "t8"}));
    auto one = parse_room_op(hub::RoomOpKind::kJoin, R"({"rooms":["a","b"],"except":["c"],"join":"x"})", kLimits);
    ASSERT_TRUE(one);
    EXPECT_EQ(one->rooms, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(one->except, std::vector<std::string>{"c"});
    EXPECT_EQ(one->targets, std::vector<std::string>{"x"});
    auto leave = parse_room_op(hub::RoomOpKind::kLeave, R"({"room":"user_1","leave":["team_7"]})", kLimits);
    ASSERT_TRUE(leave);
    EXPECT_EQ(leave->targets, std::vector<std::string>{"team_7"});
    auto disconnect = parse_room_op(hub::RoomOpKind::kDisconnect, R"({"room":"user_1"})", kLimits);
    ASSERT_TRUE(disconnect);
    EXPECT_TRUE(disconnect->targets.empty());
}

TEST(ParseRoomOp, BadBodiesNameTheField) {
    auto bad_op = [](hub::RoomOpKind kind, std::string_view body) {
        auto result = parse_room_op(kind, body, kLimits);
        EXPECT_FALSE(result) << body;
        return result ? ApiError{} : result.error();
    };
    using K = hub::RoomOpKind;
    EXPECT_EQ(bad_op(K::kJoin, "{").code, "invalid_json");
    EXPECT_EQ(bad_op(K::kJoin, "[]").code, "invalid_body");
    EXPECT_EQ(bad_op(K::kJoin, R"({"join":["a"]})").message, "room: required (room or rooms)");
    EXPECT_EQ(bad_op(K::kJoin, R"({"room":"u"})").message, "join: required");
    EXPECT_EQ(bad_op(K::kJoin, R"({"room":"u","join":[]})").message, "join: must not be empty");
    EXPECT_EQ(bad_op(K::kJoin, R"({"room":"u","join":["a",""]})").message,
              "join[1]: must be a non-empty string");
    EXPECT_EQ(bad_op(K::kJoin, R"({"room":"u","leave":["a"]})").code, "unknown_field");
    EXPECT_EQ(bad_op(K::kLeave, R"({"room":"u","join":["a"]})").code, "unknown_field");
    EXPECT_EQ(bad_op(K::kDisconnect, R"({"room":"u","join":["a"]})").code, "unknown_field");
    EXPECT_EQ(bad_op(K::kDisconnect, R"({"room":"u","rooms":["a"]})").code, "invalid_field");
    EXPECT_EQ(bad_op(K::kDisconnect, R"({"room":7})").message, "room: must be a non-empty string");
    const std::string long_room(kLimits.max_name_bytes + 1, 'r');
    EXPECT_EQ(bad_op(K::kJoin, R"({"room":"u","join":[")" + long_room + R"("]})").message,
              "join[0]: longer than 256 bytes");
    PublishLimits small;
    small.max_rooms = 2;
    auto many = parse_room_op(K::kJoin, R"({"room":"u","join":["a","b"]})", small);
    ASSERT_FALSE(many);
    EXPECT_EQ(many.error().message, "rooms: more than 2 rooms in one request");
}

}  // namespace
}  // namespace nudge::api
