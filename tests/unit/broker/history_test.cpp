#include "broker/history.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nudge::broker {
namespace {

using namespace std::chrono_literals;
using Rooms = std::vector<std::string>;

struct HistoryTest : ::testing::Test {
    HistoryConfig config{3, 10s, 100s, 100};
    History history{config};
    History::Clock::time_point t0 = History::Clock::now();

    // Every room of these tests has a session that can recover from the start.
    HistoryTest() {
        for (const char* room : {"a", "b", "c", "team"}) history.watch(room);
    }

    void add(std::uint64_t seq, Rooms rooms, std::chrono::seconds at = 0s, Rooms except = {}) {
        std::string frame = std::to_string(seq);
        frame.insert(0, 1, 'f');  // not "f" + ...: GCC 12 -Wrestrict false positive
        hub::Emit emit;
        emit.event = std::move(frame);
        history.append(seq, t0 + at, std::make_shared<const hub::EncodedEmit>(emit, 0),
                       std::move(rooms), std::move(except));
    }
    // The event name of each replayed frame (`...42["f3"]`).
    static std::vector<std::string> frames(const History::Query& q) {
        std::vector<std::string> out;
        for (const auto& f : q.replay) {
            const std::size_t start = f->find("[\"") + 2;
            out.push_back(f->substr(start, f->find('"', start) - start));
        }
        return out;
    }
};

TEST_F(HistoryTest, ReplaysWhatARoomMissedInOrder) {
    add(1, {"a"});
    add(2, {"b"});
    add(3, {"a"});
    const auto q = history.query(Rooms{"a"}, 1, t0);
    EXPECT_TRUE(q.lost_rooms.empty());
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f3"}));
    EXPECT_TRUE(history.query(Rooms{"a"}, 3, t0).replay.empty());
}

TEST_F(HistoryTest, MergesRoomsBySequenceAndSendsAnEventOfTwoRoomsOnce) {
    add(1, {"a", "b"});
    add(2, {"b"});
    add(3, {"a"});
    add(4, {"a", "b"});
    const auto q = history.query(Rooms{"b", "a"}, 0, t0);
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f1", "f2", "f3", "f4"}));
}

TEST_F(HistoryTest, ExceptRoomsAreHonouredOnReplay) {
    add(1, {"team"}, 0s, {"user_1"});
    add(2, {"team"});
    EXPECT_EQ(frames(history.query(Rooms{"user_1", "team"}, 0, t0)),
              (std::vector<std::string>{"f2"}));
    EXPECT_EQ(frames(history.query(Rooms{"user_2", "team"}, 0, t0)),
              (std::vector<std::string>{"f1", "f2"}));
}

TEST_F(HistoryTest, ARoomTrimmedByCountIsLostOnlyForPositionsBeforeTheTrim) {
    for (std::uint64_t s = 1; s <= 5; ++s) add(s, {"a"});  // keeps 3, 4, 5
    add(6, {"b"});
    auto q = history.query(Rooms{"a", "b"}, 1, t0);
    EXPECT_EQ(q.lost_rooms, Rooms{"a"});
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f6"}));  // the complete room is replayed
    q = history.query(Rooms{"a"}, 2, t0);
    EXPECT_TRUE(q.lost_rooms.empty());
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f3", "f4", "f5"}));
}

// A room's log is a vector read from a moving head, compacted as it goes: after every one of
// many count trims, the room still replays exactly its newest three emits, in order.
TEST_F(HistoryTest, ARoomTrimmedManyTimesKeepsItsNewestEmitsInOrder) {
    for (std::uint64_t s = 1; s <= 40; ++s) {
        add(s, {"a"});
        const std::uint64_t first = s > 3 ? s - 2 : 1;
        std::vector<std::string> expected;
        for (std::uint64_t e = first; e <= s; ++e) expected.push_back(std::to_string(e).insert(0, 1, 'f'));
        const auto q = history.query(Rooms{"a"}, first - 1, t0);
        ASSERT_TRUE(q.lost_rooms.empty()) << "after emit " << s;
        ASSERT_EQ(frames(q), expected) << "after emit " << s;
        if (first > 1) {
            EXPECT_EQ(history.query(Rooms{"a"}, first - 2, t0).lost_rooms, Rooms{"a"}) << "after emit " << s;
        }
    }
    // Aged out one by one, from the front, down to a tombstone.
    history.expire(t0 + 11s);
    EXPECT_EQ(history.events(), 0U);
    EXPECT_EQ(history.query(Rooms{"a"}, 39, t0 + 11s).lost_rooms, Rooms{"a"});
    EXPECT_TRUE(history.query(Rooms{"a"}, 40, t0 + 11s).lost_rooms.empty());
}

TEST_F(HistoryTest, EventsOlderThanTheWindowAreTrimmedAndTheirRoomsReportLost) {
    add(1, {"a"}, 0s);
    add(2, {"b"}, 5s);
    history.expire(t0 + 12s);  // 1 is past the 10 s window, 2 is not
    EXPECT_EQ(history.events(), 1U);
    const auto q = history.query(Rooms{"a", "b", "c"}, 0, t0 + 12s);
    EXPECT_EQ(q.lost_rooms, Rooms{"a"});
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f2"}));
    // A client that had seen event 1 lost nothing.
    EXPECT_TRUE(history.query(Rooms{"a"}, 1, t0 + 12s).lost_rooms.empty());
}

TEST_F(HistoryTest, ForgottenRoomsCountAsLostForPositionsBeforeThem) {
    for (const char* room : {"a", "b", "c", "team"}) history.unwatch(room, t0);  // recorded 10 s more
    add(1, {"a"}, 0s);
    history.expire(t0 + 11s);    // emptied: a tombstone remembers it trimmed 1
    history.expire(t0 + 200s);   // the tombstone is forgotten too
    EXPECT_EQ(history.rooms(), 0U);
    EXPECT_EQ(history.query(Rooms{"a"}, 0, t0 + 200s).lost_rooms, Rooms{"a"});
    EXPECT_EQ(history.query(Rooms{"quiet"}, 0, t0 + 200s).lost_rooms, Rooms{"quiet"});
    EXPECT_TRUE(history.query(Rooms{"quiet"}, 1, t0 + 200s).lost_rooms.empty());
}

TEST_F(HistoryTest, TooManyMissedEventsResyncTheRoomsThatMissedThem) {
    HistoryConfig small{1000, 10s, 100s, 2};
    History h{small};
    hub::Emit emit;
    emit.event = "x";
    const auto x = std::make_shared<const hub::EncodedEmit>(emit, 0);
    const std::size_t size = x->packet(hub::Variant::kOffset)->size();
    h.watch("a");
    h.watch("b");
    h.watch("c");  // a quiet room: it missed nothing
    for (std::uint64_t s = 1; s <= 3; ++s) h.append(s, t0, x, Rooms{"a"}, Rooms{});
    h.append(4, t0, x, Rooms{"b"}, Rooms{});
    auto q = h.query(Rooms{"a", "b", "c"}, 0, t0);
    EXPECT_TRUE(q.replay.empty());
    EXPECT_EQ(q.lost_rooms, (Rooms{"a", "b"}));
    // The byte cap works the same way.
    q = h.query(Rooms{"b"}, 0, t0, size + 63, 64);
    EXPECT_TRUE(q.replay.empty());
    EXPECT_EQ(q.lost_rooms, Rooms{"b"});
    EXPECT_EQ(h.query(Rooms{"b"}, 0, t0, size + 64, 64).replay.size(), 1U);
}

TEST_F(HistoryTest, MemoryIsCountedAndGivenBack) {
    EXPECT_EQ(history.bytes(), 0U);
    add(1, {"a", "b"});
    const std::size_t one = history.bytes();
    EXPECT_GT(one, 2U);
    add(2, {"a"});
    EXPECT_GT(history.bytes(), one);
    history.expire(t0 + 11s);
    EXPECT_EQ(history.events(), 0U);
    EXPECT_EQ(history.bytes(), 0U);
}

// Only rooms with a session that can recover are recorded: an event to others is not kept,
// and a room recorded from some point on reports a gap for positions before that point.
TEST_F(HistoryTest, OnlyRoomsWithASessionThatRecoversAreRecorded) {
    add(1, {"plain"});
    EXPECT_EQ(history.events(), 0U);
    EXPECT_EQ(history.bytes(), 0U);
    add(2, {"plain", "a"});  // stored once, for "a"
    EXPECT_EQ(history.events(), 1U);

    history.watch("plain");  // a recovering session joins after event 2
    EXPECT_TRUE(history.recorded("plain", t0));
    EXPECT_EQ(history.query(Rooms{"plain"}, 1, t0).lost_rooms, Rooms{"plain"});
    EXPECT_TRUE(history.query(Rooms{"plain"}, 2, t0).lost_rooms.empty());
    add(3, {"plain"});
    const auto q = history.query(Rooms{"plain"}, 2, t0);
    EXPECT_TRUE(q.lost_rooms.empty());
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f3"}));

    // Its last such session leaves: still recorded for the window (it may come back) ...
    history.unwatch("plain", t0 + 1s);
    add(4, {"plain"}, 5s);
    EXPECT_TRUE(history.recorded("plain", t0 + 5s));
    EXPECT_EQ(frames(history.query(Rooms{"plain"}, 3, t0 + 5s)), (std::vector<std::string>{"f4"}));
    // ... then not: an event then is not kept, and a position before it is a gap.
    add(5, {"plain"}, 12s);
    EXPECT_FALSE(history.recorded("plain", t0 + 12s));
    EXPECT_EQ(history.query(Rooms{"plain"}, 4, t0 + 12s).lost_rooms, Rooms{"plain"});
    // Two sessions: recorded until both have left.
    history.watch("plain");
    history.watch("plain");
    history.unwatch("plain", t0 + 13s);
    add(6, {"plain"}, 30s);
    EXPECT_TRUE(history.recorded("plain", t0 + 30s));
    EXPECT_TRUE(history.query(Rooms{"plain"}, 5, t0 + 30s).lost_rooms.empty());
}

// GET /api/v1/position: a page rendered at the newest position resumes in rooms no recovering
// session is in yet, so every room is recorded for the window from then.
TEST_F(HistoryTest, APositionForARenderedPageRecordsEveryRoomForTheWindow) {
    add(1, {"page"});  // before the render: not kept
    history.record_all(t0);
    add(2, {"page"}, 1s);
    add(3, {"other"}, 2s);
    const auto q = history.query(Rooms{"page", "never"}, 1, t0 + 3s);
    EXPECT_TRUE(q.lost_rooms.empty());
    EXPECT_EQ(frames(q), (std::vector<std::string>{"f2"}));
    EXPECT_EQ(history.query(Rooms{"page"}, 0, t0 + 3s).lost_rooms, Rooms{"page"});
    // After the window, rooms without a recovering session are not kept again.
    add(4, {"page"}, 11s);
    EXPECT_EQ(history.query(Rooms{"page"}, 3, t0 + 11s).lost_rooms, Rooms{"page"});
}

}  // namespace
}  // namespace nudge::broker
