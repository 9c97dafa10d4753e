#include "common/bounded_map.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nudge {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

TEST(BoundedMap, FindsByViewUntilTheTtlEnds) {
    BoundedMap<std::string, int> map(10s, 4, WhenFull::kEvictOldest);
    const auto t0 = Clock::time_point{} + 1h;
    EXPECT_EQ(map.insert(std::string_view("a"), 1, t0), Inserted::kNew);
    ASSERT_NE(map.find(std::string_view("a"), t0 + 9s), nullptr);
    EXPECT_EQ(*map.find(std::string_view("a"), t0 + 9s), 1);
    EXPECT_EQ(map.peek(std::string_view("a"), t0 + 10s), nullptr);
    EXPECT_EQ(map.size(), 1U);  // peek leaves it
    EXPECT_EQ(map.find(std::string_view("a"), t0 + 10s), nullptr);
    EXPECT_EQ(map.size(), 0U);  // find removes it
    map.insert(std::string("b"), 2, t0);
    ASSERT_NE(map.find_any(std::string_view("b")), nullptr);  // past its TTL, still there to drop
    EXPECT_EQ(map.size(), 1U);
}

TEST(BoundedMap, RenewingRestartsTheTtlAndMakesTheEntryTheNewest) {
    std::vector<std::string> removed;
    BoundedMap<std::string, int> map(10s, 2, WhenFull::kEvictOldest,
                                     [&](Removal, const std::string& key, int) { removed.push_back(key); });
    const auto t0 = Clock::time_point{} + 1h;
    map.insert(std::string("a"), 1, t0);
    map.insert(std::string("b"), 2, t0 + 1s);
    EXPECT_EQ(map.insert(std::string("a"), 3, t0 + 2s), Inserted::kRenewed);
    EXPECT_EQ(map.insert(std::string("c"), 4, t0 + 3s), Inserted::kEvicted);
    EXPECT_EQ(removed, std::vector<std::string>{"b"});  // a was renewed: b is the oldest
    EXPECT_EQ(*map.find(std::string_view("a"), t0 + 11s), 3);
}

TEST(BoundedMap, RefuseNewKeepsWhatItHasWhenFull) {
    BoundedMap<std::string, int> map(10s, 2, WhenFull::kRefuseNew);
    const auto t0 = Clock::time_point{} + 1h;
    map.insert(std::string("a"), 1, t0);
    map.insert(std::string("b"), 2, t0);
    EXPECT_EQ(map.insert(std::string("c"), 3, t0 + 1s), Inserted::kRefused);
    EXPECT_EQ(map.size(), 2U);
    EXPECT_EQ(map.peek(std::string_view("c"), t0 + 1s), nullptr);
    EXPECT_EQ(map.insert(std::string("b"), 5, t0 + 1s), Inserted::kRenewed);  // present: still renewed
    // Once the others expired there is room again.
    EXPECT_EQ(map.insert(std::string("c"), 3, t0 + 10s), Inserted::kNew);
    EXPECT_EQ(map.size(), 2U);  // a expired, b (renewed at +1s) not yet
}

TEST(BoundedMap, FillingItNeverPassesTheBound) {
    std::size_t evicted = 0;
    BoundedMap<std::uint64_t, bool> map(BoundedMap<std::uint64_t, bool>::kNoExpiry, 1000,
                                        WhenFull::kEvictOldest,
                                        [&](Removal why, std::uint64_t, bool) { evicted += why == Removal::kEvicted; });
    const auto t0 = Clock::time_point{} + 1h;
    for (std::uint64_t i = 0; i < 100000; ++i) {
        map.insert(i, true, t0);
        ASSERT_LE(map.size(), 1000U);
    }
    EXPECT_EQ(evicted, 99000U);
    EXPECT_EQ(map.peek(std::uint64_t{98999}, t0 + 1000h), nullptr);
    EXPECT_NE(map.peek(std::uint64_t{99000}, t0 + 1000h), nullptr);  // no TTL: only the bound
}

TEST(BoundedMap, ExpireRemovesOnlyTheExpiredOldestFirst) {
    std::vector<std::string> expired;
    BoundedMap<std::string, int> map(10s, 100, WhenFull::kRefuseNew,
                                     [&](Removal why, const std::string& key, int) {
                                         if (why == Removal::kExpired) expired.push_back(key);
                                     });
    const auto t0 = Clock::time_point{} + 1h;
    for (int i = 0; i < 5; ++i) map.insert(std::to_string(i), i, t0 + std::chrono::seconds(i));
    EXPECT_EQ(map.expire(t0 + 12s), 3U);
    EXPECT_EQ(expired, (std::vector<std::string>{"0", "1", "2"}));
    std::vector<std::string> left;
    map.for_each(t0 + 12s, [&](const std::string& key, int) { left.push_back(key); });
    EXPECT_EQ(left, (std::vector<std::string>{"3", "4"}));
    EXPECT_EQ(map.newest_until(), t0 + 14s);
}

TEST(BoundedMap, EraseAndZeroCapacity) {
    BoundedMap<std::string, int> map(10s, 0, WhenFull::kEvictOldest);
    EXPECT_EQ(map.insert(std::string("a"), 1, Clock::now()), Inserted::kRefused);
    BoundedMap<std::string, int> other(10s, 3, WhenFull::kEvictOldest);
    other.insert(std::string("a"), 1, Clock::now());
    EXPECT_TRUE(other.erase(std::string_view("a")));
    EXPECT_FALSE(other.erase(std::string_view("a")));
    EXPECT_TRUE(other.empty());
}

}  // namespace
}  // namespace nudge
