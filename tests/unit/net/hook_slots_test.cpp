// HookSlots: the subscribe hook's calls shared between users (per-user bound, fair queue).
#include "net/hook_slots.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nudge::net {
namespace {

struct Recorder {
    std::vector<std::string> started;
    HookSlots::Start start(std::string name) {
        return [this, name = std::move(name)] { started.push_back(name); };
    }
};

TEST(HookSlots, StartsAtOnceWhileSlotsAreFree) {
    HookSlots slots({.max_in_flight = 2, .max_per_user = 4, .max_queued = 8});
    Recorder r;
    EXPECT_EQ(slots.admit("a", r.start("a1")), HookSlots::Admit::kStarted);
    EXPECT_EQ(slots.admit("b", r.start("b1")), HookSlots::Admit::kStarted);
    EXPECT_EQ(r.started, (std::vector<std::string>{"a1", "b1"}));
    EXPECT_EQ(slots.in_flight(), 2U);
    slots.release("a");
    slots.release("b");
    EXPECT_EQ(slots.in_flight(), 0U);
    EXPECT_EQ(slots.users(), 0U) << "a user with nothing running or waiting is forgotten";
}

TEST(HookSlots, AUserPastItsShareIsRefusedWhateverItsSockets) {
    HookSlots slots({.max_in_flight = 8, .max_per_user = 2, .max_queued = 8});
    Recorder r;
    EXPECT_EQ(slots.admit("hog", r.start("h1")), HookSlots::Admit::kStarted);
    EXPECT_EQ(slots.admit("hog", r.start("h2")), HookSlots::Admit::kStarted);
    for (int i = 0; i < 100; ++i) {
        EXPECT_EQ(slots.admit("hog", r.start("never")), HookSlots::Admit::kRefusedUser);
    }
    EXPECT_EQ(slots.admit("other", r.start("o1")), HookSlots::Admit::kStarted);
    slots.release("hog");
    EXPECT_EQ(slots.admit("hog", r.start("h3")), HookSlots::Admit::kStarted);
    EXPECT_EQ(r.started, (std::vector<std::string>{"h1", "h2", "o1", "h3"}));
}

TEST(HookSlots, FreedSlotsGoToWaitingUsersInTurn) {
    HookSlots slots({.max_in_flight = 1, .max_per_user = 10, .max_queued = 10});
    Recorder r;
    ASSERT_EQ(slots.admit("a", r.start("a0")), HookSlots::Admit::kStarted);
    // "a" queues three calls before "b" and "c" queue one each.
    for (const char* name : {"a1", "a2", "a3"}) {
        ASSERT_EQ(slots.admit("a", r.start(name)), HookSlots::Admit::kQueued);
    }
    ASSERT_EQ(slots.admit("b", r.start("b1")), HookSlots::Admit::kQueued);
    ASSERT_EQ(slots.admit("c", r.start("c1")), HookSlots::Admit::kQueued);
    EXPECT_EQ(slots.queued(), 5U);
    for (const char* user : {"a", "a", "b", "c", "a"}) slots.release(user);
    // One turn each: b and c do not wait behind all of a's calls.
    EXPECT_EQ(r.started, (std::vector<std::string>{"a0", "a1", "b1", "c1", "a2", "a3"}));
    EXPECT_EQ(slots.queued(), 0U);
    EXPECT_EQ(slots.in_flight(), 1U);
}

TEST(HookSlots, TheQueueIsBounded) {
    HookSlots slots({.max_in_flight = 1, .max_per_user = 10, .max_queued = 2});
    Recorder r;
    ASSERT_EQ(slots.admit("a", r.start("a0")), HookSlots::Admit::kStarted);
    ASSERT_EQ(slots.admit("b", r.start("b1")), HookSlots::Admit::kQueued);
    ASSERT_EQ(slots.admit("c", r.start("c1")), HookSlots::Admit::kQueued);
    EXPECT_EQ(slots.admit("d", r.start("d1")), HookSlots::Admit::kRefusedFull);
    EXPECT_EQ(slots.users(), 3U) << "a refused call leaves no entry behind";
    slots.release("a");
    EXPECT_EQ(slots.admit("d", r.start("d1")), HookSlots::Admit::kQueued);
}

}  // namespace
}  // namespace nudge::net
