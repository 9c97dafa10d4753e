// A LocalBroker built from another one's SavedState continues it: same epoch, same sequence,
// the same replay bytes, the same idempotency ids, the same gaps.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "broker/local_broker.hpp"
#include "broker/state_file.hpp"

namespace nudge::broker {
namespace {

using namespace std::chrono_literals;
using Rooms = std::vector<std::string>;

hub::Emit emit(Rooms rooms, std::string event, std::string data = {}, std::string id = {}) {
    hub::Emit e;
    e.rooms = std::move(rooms);
    e.event = std::move(event);
    e.data_json = std::move(data);
    e.id = std::move(id);
    return e;
}

// A session that can recover, in rooms "a" and "b": the history records them.
struct Member final : hub::Subscriber {
    void deliver(const hub::Packet& /*packet*/) override {}
    void disconnect() override {}
};

// One hub process: a hub with a queue its test drains, and the broker on it.
struct Process {
    std::deque<hub::Hub::Task> queue;
    hub::Hub hub{
        {hub::Hub::ShardHooks{[this](hub::Hub::Task t) { queue.push_back(std::move(t)); }, {}}}};
    LocalBroker broker;
    Member member;

    explicit Process(std::optional<SavedState> restored = std::nullopt, std::size_t per_room = 1000)
        : broker(hub, config(per_room), std::move(restored)) {
        member.recovers = true;
        hub.rooms(0).join("a", &member);
        hub.rooms(0).join("b", &member);
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    Process(Process&&) = delete;
    Process& operator=(Process&&) = delete;
    ~Process() { hub.rooms(0).leave_all(&member); }
    static LocalBrokerConfig config(std::size_t per_room) {
        LocalBrokerConfig c;
        c.recovery = true;
        c.state_dir = "/unused-by-the-broker";
        c.history.max_per_room = per_room;
        return c;
    }
    Recovery recover(Rooms rooms, std::uint64_t from) {
        Recovery out;
        broker.recover(RecoveryRequest{std::move(rooms), Position{broker.epoch(), from}},
                       [&](Recovery r) { out = std::move(r); });
        return out;
    }
    // Through the file format and back, `downtime` later, as main() does across a restart.
    SavedState stop(std::chrono::milliseconds downtime = 0ms,
                    std::chrono::milliseconds ttl = 120s) {
        const std::string bytes = encode_state(broker.save(), 1'000'000);
        auto loaded = load_state(bytes, 1'000'000 + downtime.count(), ttl);
        EXPECT_TRUE(loaded.has_value());
        return std::move(*loaded);
    }
};

std::vector<std::string> frames(const Recovery& r) {
    std::vector<std::string> out;
    for (const auto& f : r.replay) out.push_back(*f);
    return out;
}

TEST(LocalBrokerRestart, ContinuesTheEpochTheSequenceAndTheReplayByteForByte) {
    Process before;
    ASSERT_EQ(before.broker
                  .publish({emit({"a"}, "e1", R"({"x":1})"), emit({"a", "b"}, "e2"),
                            emit({"b"}, "e3", "[1,2]")})
                  .result,
              PublishResult::kAccepted);
    const auto replay_before = frames(before.recover({"a", "b"}, 0));
    ASSERT_EQ(replay_before.size(), 3U);

    Process after(before.stop(1500ms));
    EXPECT_EQ(after.broker.epoch(), before.broker.epoch());
    const auto back = after.recover({"a", "b"}, 0);
    EXPECT_TRUE(back.recovered);
    EXPECT_EQ(frames(back), replay_before);
    EXPECT_EQ(frames(after.recover({"b"}, 1)),
              (std::vector<std::string>{replay_before[1], replay_before[2]}));
    // Events published after the restart continue the sequence.
    const auto next = after.broker.publish({emit({"a"}, "e4")});
    EXPECT_EQ(next.events[0].seq, 4U);
    EXPECT_EQ(next.epoch, before.broker.epoch());
    EXPECT_EQ(after.recover({"a"}, 2).replay.size(), 1U);
}

TEST(LocalBrokerRestart, VersionAndSpreadSurviveTheRestart) {
    Process before;
    hub::Emit e = emit({"a"}, "balance_updated", R"({"x":1})");
    e.version = "0/16B3748";
    e.spread_ms = 3000;
    (void)before.broker.publish({e});
    const SavedState saved = before.stop();
    ASSERT_EQ(saved.events.size(), 1U);
    EXPECT_EQ(saved.events[0].version, "0/16B3748");
    EXPECT_EQ(saved.events[0].spread_ms, 3000U);
    Process after(saved);
    EXPECT_EQ(frames(after.recover({"a"}, 0)), frames(before.recover({"a"}, 0)));
    // And a second restart keeps them (the restored history kept the sources too).
    const SavedState again = after.stop();
    ASSERT_EQ(again.events.size(), 1U);
    EXPECT_EQ(again.events[0].version, "0/16B3748");
    EXPECT_EQ(again.events[0].spread_ms, 3000U);
    EXPECT_EQ(again.events[0].data_json, R"({"x":1})");
}

TEST(LocalBrokerRestart, AnIdPublishedBeforeTheRestartIsNotDeliveredAgain) {
    Process before;
    (void)before.broker.publish({emit({"a"}, "e", "", "k1")});
    Process after(before.stop(1000ms));
    const auto retry = after.broker.publish({emit({"a"}, "e", "", "k1")});
    ASSERT_EQ(retry.events.size(), 1U);
    EXPECT_TRUE(retry.events[0].duplicate);
    EXPECT_EQ(retry.events[0].seq, 1U);
}

TEST(LocalBrokerRestart, ARoomTrimmedBeforeTheRestartStillResyncsAClientBehindTheTrim) {
    Process before(std::nullopt, 2);
    for (int i = 0; i < 4; ++i) (void)before.broker.publish({emit({"a"}, "e")});  // trims 1 and 2
    Process after(before.stop(), 2);
    EXPECT_EQ(after.recover({"a"}, 1).lost_rooms, Rooms{"a"});
    EXPECT_TRUE(after.recover({"a"}, 2).recovered);
}

TEST(LocalBrokerRestart, TheDowntimeCountsAgainstTheHistoryWindow) {
    Process before;
    (void)before.broker.publish({emit({"a"}, "e1")});
    // 100 s down with a 120 s window: still recoverable; the event is now 100 s old.
    Process after(before.stop(100s));
    EXPECT_TRUE(after.recover({"a"}, 0).recovered);
    // Saved again at once and 30 s more down: 130 s in all, past the window — the room is lost,
    // never replayed with a gap.
    Process later(after.stop(30s, 200s));
    EXPECT_EQ(later.recover({"a"}, 0).lost_rooms, Rooms{"a"});
    EXPECT_EQ(later.broker.publish({emit({"a"}, "e2")}).events[0].seq, 2U);
}

}  // namespace
}  // namespace nudge::broker
