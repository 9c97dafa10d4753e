#include "broker/local_broker.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

namespace nudge::broker {
namespace {

using Rooms = std::vector<std::string>;

struct Recorder final : hub::Subscriber {
    void deliver(const hub::Packet& packet) override { packets.push_back(*packet); }
    void disconnect() override { ADD_FAILURE() << "the broker never disconnects"; }
    std::vector<std::string> packets;
};

hub::Emit emit(std::string room, std::string event, std::string id = {}) {
    hub::Emit e;
    e.rooms = {std::move(room)};
    e.event = std::move(event);
    e.id = std::move(id);
    return e;
}


struct LocalBrokerTest : ::testing::Test {
    std::deque<hub::Hub::Task> queue;
    hub::Hub hub{{hub::Hub::ShardHooks{[this](hub::Hub::Task t) { queue.push_back(std::move(t)); }, {}}},
                 2};
    LocalBroker broker{hub, recovering()};
    Recorder client;

    static LocalBrokerConfig recovering() {
        LocalBrokerConfig config;
        config.recovery = true;
        return config;
    }

    void SetUp() override {
        client.variant = hub::Variant::kOffset;  // a session that recovers
        client.recovers = true;
        hub.rooms(0).join("a", &client);
    }
    void drain() {
        while (!queue.empty()) {
            auto task = std::move(queue.front());
            queue.pop_front();
            task();
        }
    }
    Recovery recover(Rooms rooms, std::optional<Position> from) {
        Recovery out;
        broker.recover(RecoveryRequest{std::move(rooms), std::move(from)},
                       [&](Recovery r) { out = std::move(r); });
        return out;
    }
};

TEST_F(LocalBrokerTest, NumbersEventsAndSendsTheOffsetAsTheLastArgument) {
    hub::EmitBatch batch{emit("a", "e1"), emit("a", "e2")};
    batch[1].data_json = R"({"x":1})";
    const auto outcome = broker.publish(std::move(batch));
    ASSERT_EQ(outcome.result, PublishResult::kAccepted);
    EXPECT_EQ(outcome.epoch, broker.epoch());
    ASSERT_EQ(outcome.events.size(), 2U);
    EXPECT_EQ(outcome.events[0].seq, 1U);
    EXPECT_EQ(outcome.events[1].seq, 2U);
    drain();
    ASSERT_EQ(client.packets.size(), 2U);
    const std::string& e = broker.epoch();
    EXPECT_EQ(client.packets[0], R"(42["e1",null,")" + e + R"(:1"])");
    EXPECT_EQ(client.packets[1], R"(42["e2",{"x":1},")" + e + R"(:2"])");
}

TEST_F(LocalBrokerTest, ADuplicateIdIsAcceptedButNotDeliveredAgain) {
    ASSERT_EQ(broker.publish({emit("a", "e", "k1")}).events[0].seq, 1U);
    const auto again = broker.publish({emit("a", "e", "k1"), emit("a", "e", "k2"), emit("a", "e", "k2")});
    ASSERT_EQ(again.events.size(), 3U);
    EXPECT_TRUE(again.events[0].duplicate);
    EXPECT_EQ(again.events[0].seq, 1U);
    EXPECT_FALSE(again.events[1].duplicate);
    EXPECT_EQ(again.events[1].seq, 2U);
    EXPECT_TRUE(again.events[2].duplicate);  // twice in one batch
    EXPECT_EQ(again.events[2].seq, 2U);
    drain();
    EXPECT_EQ(client.packets.size(), 2U);
}

TEST_F(LocalBrokerTest, AnOverloadedPublishCommitsNothing) {
    ASSERT_EQ(broker.publish({emit("a", "e1")}).result, PublishResult::kAccepted);
    ASSERT_EQ(broker.publish({emit("a", "e2")}).result, PublishResult::kAccepted);
    // Two batches wait for the shard (max_pending 2): the third is refused, numbers nothing,
    // remembers no id and keeps no history.
    EXPECT_EQ(broker.publish({emit("a", "e3", "k")}).result, PublishResult::kOverloaded);
    drain();
    const auto later = broker.publish({emit("a", "e3", "k")});
    EXPECT_FALSE(later.events[0].duplicate);
    EXPECT_EQ(later.events[0].seq, 3U);
    EXPECT_EQ(recover(Rooms{"a"}, Position{broker.epoch(), 0}).replay.size(), 3U);
}

TEST_F(LocalBrokerTest, RecoveryReplaysFromThePositionOrReportsEveryRoomLost) {
    hub.rooms(0).join("b", &client);
    const auto fresh = recover(Rooms{"a", "b"}, std::nullopt);
    EXPECT_FALSE(fresh.recovered);
    EXPECT_TRUE(fresh.lost_rooms.empty());
    EXPECT_EQ(fresh.now, (Position{broker.epoch(), 0}));

    (void)broker.publish({emit("a", "e1")});
    (void)broker.publish({emit("b", "e2")});
    (void)broker.publish({emit("c", "e3")});
    const auto back = recover(Rooms{"a", "b"}, Position{broker.epoch(), 1});
    EXPECT_TRUE(back.recovered);
    ASSERT_EQ(back.replay.size(), 1U);
    EXPECT_NE(back.replay[0]->find("e2"), std::string::npos);
    EXPECT_EQ(back.now.seq, 3U);

    // Another epoch: the history this client counted on is gone.
    const auto restarted = recover(Rooms{"a", "b"}, Position{"other", 1});
    EXPECT_FALSE(restarted.recovered);
    EXPECT_EQ(restarted.lost_rooms, (Rooms{"a", "b"}));
    EXPECT_TRUE(restarted.replay.empty());
    // A position from the future was never handed out by this broker.
    EXPECT_EQ(recover(Rooms{"a"}, Position{broker.epoch(), 99}).lost_rooms, Rooms{"a"});
}

TEST_F(LocalBrokerTest, ARecoveredSubscriberSkipsLiveCopiesOfWhatWasReplayed) {
    (void)broker.publish({emit("a", "e1")});
    (void)broker.publish({emit("a", "e2")});
    client.deliver_from = 2;  // as a session recovered at position 1 would set after replay
    drain();
    ASSERT_EQ(client.packets.size(), 1U);
    EXPECT_NE(client.packets[0].find("e2"), std::string::npos);
}

TEST(LocalBrokerOff, WithoutRecoveryEventsCarryNoOffsetAndNothingIsKept) {
    std::deque<hub::Hub::Task> queue;
    hub::Hub hub{{hub::Hub::ShardHooks{[&](hub::Hub::Task t) { queue.push_back(std::move(t)); }, {}}}};
    LocalBrokerConfig config;
    config.recovery = false;
    LocalBroker broker{hub, config};
    Recorder client;
    hub.rooms(0).join("a", &client);
    (void)broker.publish({emit("a", "e1", "id")});
    EXPECT_TRUE(broker.publish({emit("a", "e1", "id")}).events[0].duplicate);  // ids still work
    while (!queue.empty()) {
        queue.front()();
        queue.pop_front();
    }
    ASSERT_EQ(client.packets.size(), 1U);
    EXPECT_EQ(client.packets[0], R"(42["e1"])");
}

// The rooms of a session that cannot recover (a plain socket.io-client under --recovery auto)
// keep nothing; a recovering session's rooms keep their events, from its join on.
TEST_F(LocalBrokerTest, OnlyTheRoomsOfSessionsThatRecoverKeepHistory) {
    Recorder plain;
    hub.rooms(0).join("p", &plain);
    (void)broker.publish({emit("p", "e1")});
    drain();
    EXPECT_EQ(plain.packets.size(), 1U);
    const auto q = recover(Rooms{"p"}, Position{broker.epoch(), 0});
    EXPECT_EQ(q.lost_rooms, Rooms{"p"});  // never recorded before the position: a gap
    (void)broker.publish({emit("a", "e2")});
    const auto back = recover(Rooms{"a"}, Position{broker.epoch(), 1});
    EXPECT_TRUE(back.recovered);
    ASSERT_EQ(back.replay.size(), 1U);
    EXPECT_NE(back.replay[0]->find("e2"), std::string::npos);
    hub.rooms(0).leave_all(&plain);
}

}  // namespace
}  // namespace nudge::broker
