#include "hub/room_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>
#include <string>
#include <vector>

namespace nudge::hub {
namespace {

struct Recorder final : Subscriber {
    explicit Recorder(int id_in) : id(id_in) {}
    void deliver(const Packet& packet) override { got.push_back(*packet); }
    void disconnect() override { ADD_FAILURE() << "the room index never disconnects"; }
    int id;
    std::vector<std::string> got;
};

std::vector<int> recipients(RoomIndex& index, std::vector<std::string> rooms,
                            std::vector<std::string> except = {}) {
    std::vector<int> ids;
    const std::size_t n = index.for_each_recipient(
        rooms, except, [&](Subscriber& s) { ids.push_back(static_cast<Recorder&>(s).id); });
    EXPECT_EQ(n, ids.size());
    std::sort(ids.begin(), ids.end());
    return ids;
}

TEST(RoomIndex, DeliversOnlyToMembersOfTheRoom) {
    RoomIndex index;
    Recorder a(1), b(2), c(3);
    index.join("user_1", &a);
    index.join("user_2", &b);
    index.join("all", &a);
    index.join("all", &b);
    index.join("all", &c);
    EXPECT_EQ(recipients(index, {"user_1"}), std::vector<int>({1}));
    EXPECT_EQ(recipients(index, {"user_2"}), std::vector<int>({2}));
    EXPECT_EQ(recipients(index, {"all"}), std::vector<int>({1, 2, 3}));
    EXPECT_EQ(recipients(index, {"nobody"}), std::vector<int>{});
}

TEST(RoomIndex, DeduplicatesAcrossRoomsAndHonoursExcept) {
    RoomIndex index;
    Recorder a(1), b(2), c(3);
    for (auto* s : {&a, &b, &c}) index.join("all", s);
    index.join("user_1", &a);
    index.join("admins", &a);
    index.join("admins", &c);
    EXPECT_EQ(recipients(index, {"all", "user_1", "admins"}), std::vector<int>({1, 2, 3}));
    EXPECT_EQ(recipients(index, {"all"}, {"admins"}), std::vector<int>({2}));
    EXPECT_EQ(recipients(index, {"user_1"}, {"user_1"}), std::vector<int>{});
    // The marks of one delivery do not leak into the next.
    EXPECT_EQ(recipients(index, {"all"}, {}), std::vector<int>({1, 2, 3}));
}

TEST(RoomIndex, TransferMovesEveryMembershipToTheNewSubscriber) {
    RoomIndex index;
    Recorder polling(1), websocket(2), other(3);
    index.join("user_1", &polling);
    index.join("all", &polling);
    index.join("all", &other);
    index.transfer(&polling, &websocket);
    EXPECT_EQ(RoomIndex::rooms_of(polling), 0U);
    EXPECT_EQ(RoomIndex::rooms_of(websocket), 2U);
    EXPECT_EQ(recipients(index, {"user_1"}), std::vector<int>({2}));
    EXPECT_EQ(recipients(index, {"all"}), std::vector<int>({2, 3}));
}

TEST(RoomIndex, JoinTwiceIsOnceAndLeaveErasesEmptyRooms) {
    RoomIndex index;
    Recorder a(1), b(2);
    index.join("r", &a);
    index.join("r", &a);
    index.join("r", &b);
    EXPECT_EQ(index.member_count("r"), 2U);
    index.leave("r", &a);
    EXPECT_EQ(recipients(index, {"r"}), std::vector<int>({2}));
    index.leave("r", &a);  // not a member any more: no-op
    index.leave("nope", &a);
    index.leave("r", &b);
    EXPECT_EQ(index.room_count(), 0U);
    EXPECT_EQ(index.member_count("r"), 0U);
}

TEST(RoomIndex, PresenceFollowsTheRoomsLifetime) {
    RoomIndex index;
    Recorder a(1), b(2);
    EXPECT_FALSE(index.may_have("r"));
    index.join("r", &a);
    index.join("r", &b);
    index.join("r", &b);  // a second join of the same member counts nothing
    EXPECT_TRUE(index.may_have("r"));
    index.leave("r", &a);
    EXPECT_TRUE(index.may_have("r"));  // b is still there
    index.leave("r", &b);
    index.leave("r", &b);
    EXPECT_FALSE(index.may_have("r"));
}

TEST(RoomIndex, LargeRoomSurvivesChurn) {
    RoomIndex index;
    std::deque<Recorder> subs;  // subscribers never move: rooms point at them
    for (int i = 0; i < 5000; ++i) subs.emplace_back(i);
    for (auto& s : subs) index.join("all", &s);
    for (int i = 0; i < 5000; i += 2) index.leave("all", &subs[static_cast<std::size_t>(i)]);
    const auto ids = recipients(index, {"all"});
    ASSERT_EQ(ids.size(), 2500U);
    for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], static_cast<int>(2 * i + 1));
}

TEST(RoomIndex, LeaveAllLeavesEveryRoomAndErasesEmptyOnes) {
    RoomIndex index;
    Recorder a(1), b(2);
    for (const char* room : {"user_1", "all", "team_7", "team_8"}) index.join(room, &a);
    index.join("all", &b);
    EXPECT_EQ(RoomIndex::rooms_of(a), 4U);
    index.leave_all(&a);
    EXPECT_EQ(RoomIndex::rooms_of(a), 0U);
    EXPECT_EQ(index.room_count(), 1U);  // only "all", which b is still in
    EXPECT_EQ(recipients(index, {"all", "user_1", "team_7"}), std::vector<int>({2}));
    EXPECT_FALSE(index.may_have("team_8"));
}

// Random joins and leaves over several rooms, checked after every step against a plain
// model: the swap-remove bookkeeping (slots of moved members) never loses or duplicates one.
TEST(RoomIndex, RandomChurnMatchesAModel) {
    RoomIndex index;
    std::deque<Recorder> subs;
    for (int i = 0; i < 40; ++i) subs.emplace_back(i);
    const std::vector<std::string> rooms{"r0", "r1", "r2", "r3", "r4"};
    std::vector<std::vector<bool>> model(rooms.size(), std::vector<bool>(subs.size(), false));
    std::mt19937 rng(7);
    for (int step = 0; step < 5000; ++step) {
        const std::size_t r = rng() % rooms.size();
        const std::size_t s = rng() % subs.size();
        const auto op = rng() % 5;
        if (op < 2) {
            index.join(rooms[r], &subs[s]);
            model[r][s] = true;
        } else if (op < 4) {
            index.leave(rooms[r], &subs[s]);
            model[r][s] = false;
        } else {
            index.leave_all(&subs[s]);
            for (auto& m : model) m[s] = false;
        }
        if (step % 50 != 0) continue;
        for (std::size_t k = 0; k < rooms.size(); ++k) {
            std::vector<int> want;
            for (std::size_t i = 0; i < subs.size(); ++i) {
                if (model[k][i]) want.push_back(static_cast<int>(i));
            }
            ASSERT_EQ(recipients(index, {rooms[k]}), want) << "room " << rooms[k] << " step " << step;
        }
    }
}

}  // namespace
}  // namespace nudge::hub
