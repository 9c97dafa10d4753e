#include "broker/redis_message.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace nudge::broker {
namespace {

// Concatenation without operator+ chains (GCC 12's -Wrestrict misfires on those).
std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto part : parts) out.append(part);
    return out;
}

hub::Emit sample() {
    hub::Emit emit;
    emit.rooms = {"user_1", "team 7:x", ""};
    emit.except = {"user_2"};
    emit.event = "balance_updated";
    emit.data_json = R"({"amount":5,"note":"a:b 3:xyz"})";
    emit.id = "id-1";
    return emit;
}

TEST(RedisMessage, AnEventRoundTripsWithThePositionTheScriptPrefixes) {
    const std::string message = cat({"ep0ch 42 1700000000123 ", encode_event_body(sample())});
    const auto event = decode_event(message);
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->epoch, "ep0ch");
    EXPECT_EQ(event->ms, 1700000000123U);
    EXPECT_EQ(event->emit.seq, 42U);
    EXPECT_EQ(event->emit.rooms, sample().rooms);
    EXPECT_EQ(event->emit.except, sample().except);
    EXPECT_EQ(event->emit.event, "balance_updated");
    EXPECT_EQ(event->emit.data_json, sample().data_json);
    EXPECT_EQ(event->emit.id, "id-1");
    EXPECT_TRUE(event->emit.offset.empty());
}

TEST(RedisMessage, VersionAndSpreadRoundTrip) {
    for (const auto* version : {"0/16B3748", "FFFFFFFF/FFFFFFFF", "0", "18446744073709551615", ""}) {
        for (const std::uint32_t spread : {0U, 1U, 3000U, hub::kMaxSpreadMs}) {
            hub::Emit emit = sample();
            emit.version = version;
            emit.spread_ms = spread;
            const auto event = decode_event(cat({"ep 1 2 ", encode_event_body(emit)}));
            ASSERT_TRUE(event.has_value()) << version << " " << spread;
            EXPECT_EQ(event->emit.version, version);
            EXPECT_EQ(event->emit.spread_ms, spread);
            EXPECT_EQ(event->emit.data_json, sample().data_json);
        }
    }
}

TEST(RedisMessage, AVersionOrSpreadTheHubWouldNotWriteIsRefused) {
    // The hub writes canonical versions and spreads within the maximum; anything else in Redis
    // was not written by a hub and is refused whole, never half-read.
    const std::string head = "ep 1 2 v111:e0:0:1:11:r1:0";
    for (const auto* tail : {"9:0/16b37481:0", "9:0/016B3741:0", "3:0121:0", "3:x/11:0", "1:05:60001",
                             "1:02:-1", "1:00:", "1:0", "0:"}) {
        EXPECT_FALSE(decode_event(cat({head, tail})).has_value()) << tail;
    }
    EXPECT_TRUE(decode_event(cat({head, "9:0/16B37481:0"})).has_value());
}

TEST(RedisMessage, AnEventWithoutDataOrIdRoundTrips) {
    hub::Emit emit;
    emit.rooms = {"r"};
    emit.event = std::string(1, 'e');  // not = "e": GCC 12 -Wrestrict false positive
    const auto event = decode_event(cat({"e 1 2 ", encode_event_body(emit)}));
    ASSERT_TRUE(event.has_value());
    EXPECT_TRUE(event->emit.data_json.empty());
    EXPECT_TRUE(event->emit.except.empty());
}

TEST(RedisMessage, MalformedEventsAreRefused) {
    const std::string body = encode_event_body(sample());
    const std::string_view whole = body;
    const std::vector<std::string> bad_messages{
        std::string(), "ep 1 2", cat({"ep x 2 ", whole}), cat({"ep 1 y ", whole}), cat({" 1 2 ", whole}),
        cat({"ep 1 2 ", whole.substr(0, whole.size() - 1)}), cat({"ep 1 2 ", whole, "1"}), cat({"ep 1 2 ", whole, "9:x"}),
        "ep 1 2 99999999999:x", "ep 1 2 1:e0:0:1:02:r1", "ep 1 2 1:e0:0:0:0:"};
    for (const std::string& bad : bad_messages) {
        EXPECT_FALSE(decode_event(bad).has_value()) << bad;
    }
    // No room at all: nothing to deliver to.
    hub::Emit roomless = sample();
    roomless.rooms.clear();
    EXPECT_FALSE(decode_event(cat({"ep 1 2 ", encode_event_body(roomless)})).has_value());
}

TEST(RedisMessage, RoomOpsRoundTrip) {
    for (const auto kind : {hub::RoomOpKind::kJoin, hub::RoomOpKind::kLeave, hub::RoomOpKind::kDisconnect}) {
        hub::RoomOp op;
        op.kind = kind;
        op.rooms = {"user_1"};
        op.except = {"x"};
        op.targets = kind == hub::RoomOpKind::kDisconnect ? std::vector<std::string>{}
                                                          : std::vector<std::string>{"team_7", "t:8"};
        const auto back = decode_room_op(encode_room_op(op));
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(back->kind, kind);
        EXPECT_EQ(back->rooms, op.rooms);
        EXPECT_EQ(back->except, op.except);
        EXPECT_EQ(back->targets, op.targets);
    }
    EXPECT_FALSE(decode_room_op("kick 1:11:a1:01:0").has_value());
    EXPECT_FALSE(decode_room_op("join").has_value());
    EXPECT_FALSE(decode_room_op("join 1:01:01:0").has_value());  // no rooms
}

// Golden files (fixtures/wire_*.msg): messages as other versions of the hub write them, so a
// rolling upgrade, where hubs of two versions share one Redis, keeps delivering.
std::string golden(std::string_view name) {
    std::ifstream file(cat({NUDGE_WIRE_FIXTURES, "/", name}), std::ios::binary);
    EXPECT_TRUE(file.good()) << name;
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

TEST(RedisWireFormat, ThisHubWritesItsVersion) {
    const std::string body = encode_event_body(sample());
    EXPECT_EQ(body.substr(0, 3), cat({"v", std::string_view(&kWireMajor, 1), std::string_view(&kWireMinor, 1)}));
    EXPECT_EQ(encode_room_op(hub::RoomOp{}).substr(0, 1), "v");
}

// What a hub of wire format v1.0 does with a message: its reader's rules (the five fields it
// knows, then any well-formed fields skipped), kept here as that hub shipped them, so this
// hub's messages are checked against the readers already deployed.
struct V10Event {
    std::string event, data, id;
    std::vector<std::string> rooms, except;
};
std::optional<V10Event> decode_as_v1_0_hub(std::string_view message) {
    for (int words = 0; words < 3; ++words) {
        const auto space = message.find(' ');
        if (space == std::string_view::npos) return std::nullopt;
        message.remove_prefix(space + 1);
    }
    if (message.size() < 3 || message[0] != 'v' || message[1] != '1') return std::nullopt;
    message.remove_prefix(3);
    const auto field = [&message]() -> std::optional<std::string> {
        const auto colon = message.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        const auto size = std::stoul(std::string(message.substr(0, colon)));
        if (size > message.size() - colon - 1) return std::nullopt;
        std::string value(message.substr(colon + 1, size));
        message.remove_prefix(colon + 1 + size);
        return value;
    };
    const auto list = [&field](std::vector<std::string>& out) {
        const auto count = field();
        if (!count) return false;
        for (unsigned long i = 0, n = std::stoul(*count); i < n; ++i) {
            auto item = field();
            if (!item) return false;
            out.push_back(std::move(*item));
        }
        return true;
    };
    V10Event out;
    auto event = field();
    auto data = field();
    auto id = field();
    if (!event || !data || !id || !list(out.rooms) || !list(out.except)) return std::nullopt;
    while (!message.empty()) {
        if (!field()) return std::nullopt;  // the rest must be well-formed fields
    }
    out.event = std::move(*event);
    out.data = std::move(*data);
    out.id = std::move(*id);
    return out;
}

TEST(RedisWireFormat, ThisHubsEventMatchesItsGoldenFile) {
    hub::Emit emit;
    emit.event = "balance_updated";
    emit.data_json = R"({"amount":5})";
    emit.id = "id-1";
    emit.rooms = {"user_1", "team 7:x"};
    emit.except = {"user_2"};
    emit.version = "0/16B3748";
    emit.spread_ms = 3000;
    EXPECT_EQ(cat({"ep0ch 42 1700000000123 ", encode_event_body(emit)}), golden("wire_event_v1.1_this_hub.msg"));
}

TEST(RedisWireFormat, AHubOfTheOlderFormatReadsThisHubsEventWithoutItsNewFields) {
    const auto old = decode_as_v1_0_hub(golden("wire_event_v1.1_this_hub.msg"));
    ASSERT_TRUE(old.has_value());
    EXPECT_EQ(old->event, "balance_updated");
    EXPECT_EQ(old->data, R"({"amount":5})");
    EXPECT_EQ(old->id, "id-1");
    EXPECT_EQ(old->rooms, (std::vector<std::string>{"user_1", "team 7:x"}));
    EXPECT_EQ(old->except, std::vector<std::string>{"user_2"});
    // And this hub reads its own golden file whole.
    const auto event = decode_event(golden("wire_event_v1.1_this_hub.msg"));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->emit.version, "0/16B3748");
    EXPECT_EQ(event->emit.spread_ms, 3000U);
}

TEST(RedisWireFormat, AnEventOfTheOlderFormatDecodesWithoutVersionOrSpread) {
    for (const auto* name : {"wire_event_v1.0_older_hub.msg", "wire_event_unversioned_older_hub.msg"}) {
        const auto event = decode_event(golden(name));
        ASSERT_TRUE(event.has_value()) << name;
        EXPECT_EQ(event->emit.event, "balance_updated") << name;
        EXPECT_EQ(event->emit.except, std::vector<std::string>{"user_2"}) << name;
        EXPECT_TRUE(event->emit.version.empty()) << name;
        EXPECT_EQ(event->emit.spread_ms, 0U) << name;
    }
}

TEST(RedisWireFormat, AnEventFromANewerMinorVersionDecodesWithoutItsNewFields) {
    const auto event = decode_event(golden("wire_event_v1.9_newer_hub.msg"));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->emit.seq, 42U);
    EXPECT_EQ(event->emit.event, "balance_updated");
    EXPECT_EQ(event->emit.data_json, R"({"amount":5})");
    EXPECT_EQ(event->emit.id, "id-1");
    EXPECT_EQ(event->emit.rooms, (std::vector<std::string>{"user_1", "team 7:x"}));
    EXPECT_EQ(event->emit.except, std::vector<std::string>{"user_2"});
    EXPECT_EQ(event->emit.version, "0/16B3748");  // v1.1's fields, which it also writes
    EXPECT_EQ(event->emit.spread_ms, 3000U);
}

TEST(RedisWireFormat, AnEventFromAHubBeforeVersionsStillDecodes) {
    const auto event = decode_event(golden("wire_event_unversioned_older_hub.msg"));
    ASSERT_TRUE(event.has_value());
    EXPECT_EQ(event->emit.event, "balance_updated");
    EXPECT_EQ(event->emit.rooms, (std::vector<std::string>{"user_1", "team 7:x"}));
}

TEST(RedisWireFormat, ANewerMajorVersionIsRefusedNotMisread) {
    EXPECT_FALSE(decode_event(golden("wire_event_v2.0_next_major.msg")).has_value());
    EXPECT_FALSE(decode_event("ep 1 2 v1").has_value());  // a cut header
}

TEST(RedisWireFormat, RoomOpsFromANewerMinorVersionAndFromBeforeVersionsDecode) {
    for (const auto* name : {"wire_room_op_v1.9_newer_hub.msg", "wire_room_op_unversioned_older_hub.msg"}) {
        const auto op = decode_room_op(golden(name));
        ASSERT_TRUE(op.has_value()) << name;
        EXPECT_EQ(op->kind, hub::RoomOpKind::kJoin);
        EXPECT_EQ(op->rooms, std::vector<std::string>{"user_1"});
        EXPECT_EQ(op->except, std::vector<std::string>{"x"});
        EXPECT_EQ(op->targets, std::vector<std::string>{"team_7"});
    }
    EXPECT_FALSE(decode_room_op("v20join 1:16:user_11:01:0").has_value());
}

}  // namespace
}  // namespace nudge::broker
