#include "hub/hub.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <string>
#include <vector>

namespace nudge::hub {
namespace {

struct Recorder final : Subscriber {
    void deliver(const Packet& packet) override { packets.push_back(packet); }
    void disconnect() override { ++disconnects; }
    std::vector<Packet> packets;
    int disconnects = 0;
};

// Two shards whose "threads" are task queues the test drains by hand.
struct Fixture {
    std::deque<Hub::Task> queues[2];
    int batches_ended[2] = {0, 0};
    Hub hub{{Hub::ShardHooks{[this](Hub::Task t) { queues[0].push_back(std::move(t)); },
                             [this] { ++batches_ended[0]; }},
             Hub::ShardHooks{[this](Hub::Task t) { queues[1].push_back(std::move(t)); },
                             [this] { ++batches_ended[1]; }}}};
    void drain() {
        for (auto& q : queues) {
            while (!q.empty()) {
                auto task = std::move(q.front());
                q.pop_front();
                task();
            }
        }
    }
};

// The hub hands transports Engine.IO packets, never WebSocket frames (issue 20).
TEST(Hub, EncodesTheEngineIoPacketOfTheSocketIoEvent) {
    const std::string packet = Hub::encode(Emit{{"user_1"}, {}, "balance_updated", R"({"x":1})", {}, 0, {}, {}, 0});
    EXPECT_EQ(packet, R"(42["balance_updated",{"x":1}])");
}

TEST(Hub, DeliversToEveryShardAndSharesOneBufferPerShard) {
    Fixture f;
    Recorder a, b, c;
    f.hub.rooms(0).join("all", &a);
    f.hub.rooms(0).join("all", &b);
    f.hub.rooms(1).join("all", &c);
    f.hub.rooms(1).join("user_9", &c);
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(
        EmitBatch{Emit{{"all"}, {}, "e1", "", {}, 0, {}, {}, 0}, Emit{{"user_9"}, {}, "e2", "1", {}, 0, {}, {}, 0}})));
    EXPECT_TRUE(a.packets.empty());  // nothing runs until the shard's thread does
    f.drain();
    ASSERT_EQ(a.packets.size(), 1U);
    ASSERT_EQ(b.packets.size(), 1U);
    ASSERT_EQ(c.packets.size(), 2U);
    EXPECT_EQ(a.packets[0].get(), b.packets[0].get());  // one buffer for the shard
    EXPECT_NE(a.packets[0].get(), c.packets[0].get());  // each shard has its own copy
    EXPECT_EQ(*a.packets[0], *c.packets[0]);
    EXPECT_EQ(*c.packets[1], R"(42["e2",1])");
    EXPECT_EQ(f.batches_ended[0], 1);
    EXPECT_EQ(f.batches_ended[1], 1);
}

TEST(Hub, RefusesBatchesPastThePendingBoundUntilShardsCatchUp) {
    std::deque<Hub::Task> queue;
    Hub hub({Hub::ShardHooks{[&](Hub::Task t) { queue.push_back(std::move(t)); }, {}},
             Hub::ShardHooks{[&](Hub::Task t) { queue.push_back(std::move(t)); }, {}}},
            /*max_pending=*/4);
    Recorder a, b;
    hub.rooms(0).join("r", &a);
    hub.rooms(1).join("r", &b);
    auto batch = std::make_shared<const EmitBatch>(EmitBatch{Emit{{"r"}, {}, "e", "", {}, 0, {}, {}, 0}});
    EXPECT_TRUE(hub.deliver(batch));
    EXPECT_TRUE(hub.deliver(batch));
    EXPECT_EQ(hub.pending(), 4U);
    EXPECT_FALSE(hub.deliver(batch));  // would make 6 > 4
    EXPECT_EQ(queue.size(), 4U);
    queue.front()();
    queue.pop_front();
    queue.front()();
    queue.pop_front();
    EXPECT_EQ(hub.pending(), 2U);
    EXPECT_TRUE(hub.deliver(batch));
}

TEST(Hub, PostsOnlyToShardsThatMayHaveARecipient) {
    Fixture f;
    Recorder a, c;
    f.hub.rooms(0).join("user_1", &a);
    f.hub.rooms(1).join("user_2", &c);
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{Emit{{"user_1"}, {}, "e", "", {}, 0, {}, {}, 0}})));
    EXPECT_EQ(f.queues[0].size(), 1U);
    EXPECT_TRUE(f.queues[1].empty());  // shard 1 has no user_1: not woken
    EXPECT_EQ(f.hub.pending(), 1U);
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{Emit{{"nobody"}, {}, "e", "", {}, 0, {}, {}, 0}})));
    EXPECT_EQ(f.hub.pending(), 1U);  // no shard has the room: nothing posted
    f.drain();
    EXPECT_EQ(a.packets.size(), 1U);
    EXPECT_TRUE(c.packets.empty());
    EXPECT_EQ(f.batches_ended[1], 0);
    // After the last member leaves, the shard is skipped again; a join makes it a target.
    f.hub.rooms(1).leave("user_2", &c);
    f.hub.rooms(0).join("user_2", &a);
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{Emit{{"user_2"}, {}, "e", "", {}, 0, {}, {}, 0}})));
    EXPECT_EQ(f.queues[0].size(), 1U);
    EXPECT_TRUE(f.queues[1].empty());
}

TEST(Hub, EmptyBatchPostsNothing) {
    Fixture f;
    EXPECT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>()));
    EXPECT_TRUE(f.queues[0].empty());
    EXPECT_TRUE(f.queues[1].empty());
}

SharedRoomOp op(RoomOpKind kind, std::vector<std::string> rooms, std::vector<std::string> targets,
                std::vector<std::string> except = {}) {
    return std::make_shared<const RoomOp>(
        RoomOp{kind, std::move(rooms), std::move(except), std::move(targets)});
}

TEST(HubRoomOps, JoinLeaveAndDisconnectActOnEveryShard) {
    Fixture f;
    Recorder tab1, tab2, other;
    f.hub.rooms(0).join("user_1", &tab1);
    f.hub.rooms(1).join("user_1", &tab2);
    f.hub.rooms(1).join("user_2", &other);
    ASSERT_TRUE(f.hub.apply(op(RoomOpKind::kJoin, {"user_1"}, {"team_7", "team_8"})));
    EXPECT_EQ(f.hub.rooms(0).member_count("team_7"), 0U);  // runs on the shard's thread
    f.drain();
    EXPECT_EQ(f.hub.rooms(0).member_count("team_7"), 1U);
    EXPECT_EQ(f.hub.rooms(1).member_count("team_7"), 1U);
    EXPECT_EQ(f.hub.rooms(1).member_count("team_8"), 1U);
    EXPECT_EQ(RoomIndex::rooms_of(other), 1U);

    ASSERT_TRUE(f.hub.apply(op(RoomOpKind::kLeave, {"team_7"}, {"team_8"}, {"user_2"})));
    f.drain();
    EXPECT_EQ(f.hub.rooms(1).member_count("team_8"), 0U);
    EXPECT_EQ(f.hub.rooms(1).member_count("team_7"), 1U);

    ASSERT_TRUE(f.hub.apply(op(RoomOpKind::kDisconnect, {"user_1"}, {})));
    f.drain();
    EXPECT_EQ(tab1.disconnects, 1);
    EXPECT_EQ(tab2.disconnects, 1);
    EXPECT_EQ(other.disconnects, 0);
    EXPECT_EQ(f.hub.pending(), 0U);
}

TEST(HubRoomOps, AnEventPublishedAfterAJoinReachesTheJoinedSockets) {
    Fixture f;
    Recorder a;
    f.hub.rooms(1).join("user_1", &a);
    ASSERT_TRUE(f.hub.apply(op(RoomOpKind::kJoin, {"user_1"}, {"team_7"})));
    // No shard has team_7 yet, but the join is in flight: the event goes to every shard,
    // behind the join in each queue.
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{Emit{{"team_7"}, {}, "e", "", {}, 0, {}, {}, 0}})));
    EXPECT_EQ(f.queues[1].size(), 2U);
    f.drain();
    EXPECT_EQ(a.packets.size(), 1U);
    // Once the join ran, the presence filter decides again.
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{Emit{{"team_7"}, {}, "e", "", {}, 0, {}, {}, 0}})));
    EXPECT_TRUE(f.queues[0].empty());
    EXPECT_EQ(f.queues[1].size(), 1U);
}

TEST(HubRoomOps, OperationsCountAgainstTheOverloadBound) {
    std::deque<Hub::Task> queue;
    Hub hub{{Hub::ShardHooks{[&](Hub::Task t) { queue.push_back(std::move(t)); }, {}}}, 1};
    Recorder a;
    hub.rooms(0).join("user_1", &a);
    EXPECT_TRUE(hub.apply(op(RoomOpKind::kJoin, {"user_1"}, {"x"})));
    EXPECT_FALSE(hub.apply(op(RoomOpKind::kJoin, {"user_1"}, {"y"})));
    EXPECT_FALSE(hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{Emit{{"user_1"}, {}, "e", "", {}, 0, {}, {}, 0}})));
    EXPECT_TRUE(hub.apply(op(RoomOpKind::kJoin, {"nobody"}, {"y"})));  // no shard: nothing posted
}

TEST(HubRoomOps, GrantsAreRememberedOnlyWithATtl) {
    Fixture f;
    EXPECT_FALSE(f.hub.grants().enabled());
    ASSERT_TRUE(f.hub.apply(op(RoomOpKind::kJoin, {"user_1"}, {"team_7"})));
    EXPECT_TRUE(f.hub.granted_rooms(std::vector<std::string>{"user_1"}).empty());

    std::deque<Hub::Task> queue;
    Hub hub{{Hub::ShardHooks{[&](Hub::Task t) { queue.push_back(std::move(t)); }, {}}},
            16,
            std::chrono::seconds(60)};
    ASSERT_TRUE(hub.apply(op(RoomOpKind::kJoin, {"user_1"}, {"team_7", "team_8"})));
    const std::vector<std::string> mine{"user_1", "org_3"};
    auto granted = hub.granted_rooms(mine);
    std::sort(granted.begin(), granted.end());
    EXPECT_EQ(granted, (std::vector<std::string>{"team_7", "team_8"}));
    ASSERT_TRUE(hub.apply(op(RoomOpKind::kLeave, {"user_1"}, {"team_7"})));
    EXPECT_EQ(hub.granted_rooms(mine), std::vector<std::string>{"team_8"});
    ASSERT_TRUE(hub.apply(op(RoomOpKind::kDisconnect, {"user_1"}, {})));
    EXPECT_TRUE(hub.granted_rooms(mine).empty());
}

// Regression (issue 20): after a Redis outage every room got its own nudge:resync, so a client
// in 1,000 rooms received 1,000 events. One per session now, naming its rooms.
TEST(HubResync, EachSessionGetsOneEventNamingItsRooms) {
    Fixture f;
    Recorder many, one, outside;
    auto rooms = std::make_shared<std::vector<std::string>>();
    for (int i = 0; i < 1000; ++i) {
        rooms->push_back("room_" + std::to_string(i));
        f.hub.rooms(0).join(rooms->back(), &many);
    }
    f.hub.rooms(1).join("room_7", &one);
    f.hub.rooms(1).join("elsewhere", &outside);
    ASSERT_TRUE(f.hub.resync(rooms));
    f.drain();
    ASSERT_EQ(many.packets.size(), 1U);
    const std::string& packet = *many.packets[0];
    EXPECT_EQ(packet.rfind(R"(42["nudge:resync",{"rooms":["room_0","room_1",)", 0), 0U);
    EXPECT_TRUE(packet.ends_with(R"("room_999"]}])"));
    ASSERT_EQ(one.packets.size(), 1U);
    EXPECT_EQ(*one.packets[0], R"(42["nudge:resync",{"rooms":["room_7"]}])");
    EXPECT_TRUE(outside.packets.empty());
}

TEST(HubResync, ASessionHoldingForItsConnectAnswerKeepsIt) {
    Fixture f;
    Recorder holding;
    holding.deliver_from = Subscriber::kHold;
    f.hub.rooms(0).join("user_1", &holding);
    ASSERT_TRUE(f.hub.resync(std::make_shared<std::vector<std::string>>(std::vector<std::string>{"user_1"})));
    f.drain();
    EXPECT_TRUE(holding.packets.empty());
    EXPECT_EQ(holding.take_held().size(), 1U);
}

}  // namespace
}  // namespace nudge::hub

namespace nudge::hub {
namespace {

// A packet with its spread window's "t" (when the hub took the event: now) taken out.
std::string untimed(std::string packet) {
    const std::size_t at = packet.find(R"(,"t":)");
    if (at == std::string::npos) return packet;
    std::size_t end = at + 5;
    while (end < packet.size() && packet[end] >= '0' && packet[end] <= '9') ++end;
    return packet.erase(at, end - at);
}

// Each session takes its own form of one event; sessions of one form on a shard share a frame.
TEST(Hub, EachSessionGetsItsFormAndOneFormIsSharedOnAShard) {
    Fixture f;
    Recorder plain, offset, nudge, nudge2;
    offset.variant = Variant::kOffset;
    nudge.variant = nudge2.variant = Variant::kNudge;
    for (Recorder* r : {&plain, &offset, &nudge, &nudge2}) f.hub.rooms(0).join("team", r);
    Emit emit{{"team"}, {}, "e", "", {}, 5, "Ep:5", "7", 200};
    ASSERT_TRUE(f.hub.deliver(std::make_shared<const EmitBatch>(EmitBatch{emit})));
    f.drain();
    ASSERT_EQ(plain.packets.size(), 1U);
    EXPECT_EQ(*plain.packets[0], R"(42["e"])");
    EXPECT_EQ(*offset.packets[0], R"(42["e",null,"Ep:5"])");
    EXPECT_EQ(untimed(*nudge.packets[0]), R"(42["e",null,{"$nudge":{"v":"7","s":200}},"Ep:5"])");
    EXPECT_EQ(nudge.packets[0].get(), nudge2.packets[0].get());
}

// --refetch-rate: the window is ceil(members / rate) seconds over every shard's members, the
// largest of the event's rooms, capped at 60 s; the event's own spread wins when larger.
TEST(Hub, DerivesTheSpreadWindowFromTheRoomsMembers) {
    Fixture f;
    EXPECT_EQ(f.hub.derived_window_ms(std::vector<std::string>{"big"}), 0U);  // no rate: none
    f.hub.set_refetch_rate(2);
    Recorder members[5];
    for (int i = 0; i < 5; ++i) f.hub.rooms(static_cast<std::size_t>(i % 2)).join("big", &members[i]);
    f.hub.rooms(0).join("small", &members[0]);
    EXPECT_EQ(f.hub.derived_window_ms(std::vector<std::string>{"big"}), 2500U);
    EXPECT_EQ(f.hub.derived_window_ms(std::vector<std::string>{"small"}), 500U);
    EXPECT_EQ(f.hub.derived_window_ms(std::vector<std::string>{"small", "big"}), 2500U);
    EXPECT_EQ(f.hub.derived_window_ms(std::vector<std::string>{"nobody"}), 0U);
    f.hub.rooms(1).leave("big", &members[1]);
    EXPECT_EQ(f.hub.derived_window_ms(std::vector<std::string>{"big"}), 2000U);
    for (Recorder& m : members) m.variant = Variant::kNudge;
    const auto encoded = f.hub.encode_batch(EmitBatch{Emit{{"big"}, {}, "e", "", {}, 0, {}, {}, 0},
                                                      Emit{{"small"}, {}, "e", "", {}, 0, {}, {}, 9000}});
    EXPECT_EQ((*encoded)[0]->window_ms(), 2000U);
    EXPECT_EQ((*encoded)[1]->window_ms(), 9000U);
    // A rate of 1 and 100,000 members would be 100,000 s: capped.
    Fixture g;
    g.hub.set_refetch_rate(1);
    std::vector<Recorder> crowd(61);
    for (auto& r : crowd) g.hub.rooms(0).join("all", &r);
    EXPECT_EQ(g.hub.derived_window_ms(std::vector<std::string>{"all"}), kMaxSpreadMs);
}

// A nudge session's resync carries the derived window of the rooms it names.
TEST(Hub, ANudgeSessionsResyncIsSpread) {
    Fixture f;
    f.hub.set_refetch_rate(1);
    Recorder plain, nudge;
    nudge.variant = Variant::kNudge;
    f.hub.rooms(0).join("team", &plain);
    f.hub.rooms(0).join("team", &nudge);
    ASSERT_TRUE(f.hub.resync(std::make_shared<const std::vector<std::string>>(std::vector<std::string>{"team"})));
    f.drain();
    ASSERT_EQ(plain.packets.size(), 1U);
    EXPECT_EQ(*plain.packets[0], R"(42["nudge:resync",{"rooms":["team"]}])");
    EXPECT_EQ(untimed(*nudge.packets[0]), R"(42["nudge:resync",{"rooms":["team"]},{"$nudge":{"s":2000}}])");
}

}  // namespace
}  // namespace nudge::hub
