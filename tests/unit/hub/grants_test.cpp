#include "hub/grants.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "metrics/metrics.hpp"

namespace nudge::hub {
namespace {

using std::chrono::seconds;
using Strings = std::vector<std::string>;

const Grants::Clock::time_point kT0{seconds(1000)};

Strings sorted(Strings v) {
    std::sort(v.begin(), v.end());
    return v;
}

TEST(Grants, OffWithoutATtl) {
    Grants grants(seconds(0), 10);
    EXPECT_TRUE(grants.add(Strings{"user_1"}, Strings{"team_7"}, kT0));
    EXPECT_TRUE(grants.rooms_for(Strings{"user_1"}, kT0).empty());
    EXPECT_EQ(grants.size(), 0U);
}

TEST(Grants, RoomsOfEverySelectorUntilTheTtlPasses) {
    Grants grants(seconds(60), 10);
    EXPECT_TRUE(grants.add(Strings{"user_1", "user_2"}, Strings{"team_7"}, kT0));
    EXPECT_TRUE(grants.add(Strings{"org_1"}, Strings{"team_7", "org_1", "audit"}, kT0));
    EXPECT_EQ(grants.size(), 4U);  // a room is never granted to itself
    EXPECT_EQ(sorted(grants.rooms_for(Strings{"user_1", "org_1"}, kT0 + seconds(59))),
              (Strings{"audit", "team_7"}));  // team_7 once
    EXPECT_TRUE(grants.rooms_for(Strings{"user_1"}, kT0 + seconds(60)).empty());
    // A repeated grant extends it.
    EXPECT_TRUE(grants.add(Strings{"user_1"}, Strings{"team_7"}, kT0 + seconds(30)));
    EXPECT_EQ(grants.rooms_for(Strings{"user_1"}, kT0 + seconds(80)), Strings{"team_7"});
    EXPECT_EQ(grants.size(), 4U);
}

TEST(Grants, RemoveAndClear) {
    Grants grants(seconds(60), 10);
    grants.add(Strings{"user_1"}, Strings{"a", "b", "c"}, kT0);
    grants.remove(Strings{"user_1"}, Strings{"b", "zzz"});
    EXPECT_EQ(sorted(grants.rooms_for(Strings{"user_1"}, kT0)), (Strings{"a", "c"}));
    EXPECT_EQ(grants.size(), 2U);
    grants.clear(Strings{"user_1", "nobody"});
    EXPECT_TRUE(grants.rooms_for(Strings{"user_1"}, kT0).empty());
    EXPECT_EQ(grants.size(), 0U);
}

TEST(Grants, BoundedPurgingExpiredEntriesFirst) {
    Grants grants(seconds(60), 2);
    EXPECT_TRUE(grants.add(Strings{"user_1"}, Strings{"a", "b"}, kT0));
    EXPECT_FALSE(grants.add(Strings{"user_2"}, Strings{"c"}, kT0 + seconds(1)));  // full
    EXPECT_TRUE(grants.rooms_for(Strings{"user_2"}, kT0).empty());
    // Once a and b expired, they make room.
    EXPECT_TRUE(grants.add(Strings{"user_2"}, Strings{"c"}, kT0 + seconds(61)));
    EXPECT_EQ(grants.size(), 1U);
    EXPECT_EQ(grants.rooms_for(Strings{"user_2"}, kT0 + seconds(61)), Strings{"c"});
}

TEST(Grants, CappedPerSelector) {
    Grants grants(seconds(60), 100, 2);
    EXPECT_FALSE(grants.add(Strings{"user_1"}, Strings{"a", "b", "c"}, kT0));  // c is one too many
    EXPECT_EQ(sorted(grants.rooms_for(Strings{"user_1"}, kT0)), (Strings{"a", "b"}));
    EXPECT_TRUE(grants.add(Strings{"user_2"}, Strings{"c"}, kT0));  // other selectors are not held back
    EXPECT_EQ(grants.size(), 3U);
}

std::int64_t granted(metrics::Labeled<8>& counter) {
    return counter[metrics::Table::kGrantedRooms].read();
}

// The table's refusals and expirations reach /metrics (a refused join is otherwise silent:
// the hub answers the API before the grant is remembered).
TEST(Grants, RefusalsAndExpirationsAreCountedForMetrics) {
    auto& registry = metrics::registry();
    const auto refused = granted(registry.table_refusals);
    const auto expired = granted(registry.table_expirations);
    Grants grants(seconds(60), 3, 2);
    EXPECT_FALSE(grants.add(Strings{"user_1"}, Strings{"a", "b", "c"}, kT0));  // c: per selector
    EXPECT_FALSE(grants.add(Strings{"user_2"}, Strings{"d", "e"}, kT0));       // e: the table
    EXPECT_EQ(granted(registry.table_refusals), refused + 2);
    EXPECT_EQ(granted(registry.table_expirations), expired);
    // Both selectors expire with their rooms: three pairs.
    EXPECT_TRUE(grants.rooms_for(Strings{"user_1", "user_2"}, kT0 + seconds(61)).empty());
    EXPECT_EQ(granted(registry.table_expirations), expired + 3);
    EXPECT_EQ(granted(registry.table_evictions), 0) << "refuse-new never evicts";
    const std::string text = registry.render();
    EXPECT_NE(text.find("nudge_table_refusals_total{table=\"granted_rooms\"} " +
                        std::to_string(refused + 2) + "\n"),
              std::string::npos);
    EXPECT_NE(text.find("nudge_table_expirations_total{table=\"granted_rooms\"} " +
                        std::to_string(expired + 3) + "\n"),
              std::string::npos);
}

// Regression (issue 20): a CONNECT used to de-duplicate the granted rooms with std::find, so a
// selector with 100,000 grants cost ~5e9 comparisons under the mutex every CONNECT takes. The
// work must grow with the rooms, not with their square.
TEST(Grants, ConnectAfterManyGrantsDoesWorkInTheNumberOfRooms) {
    constexpr std::size_t kRooms = 100000;
    Grants grants(seconds(60), 1000000, kRooms);
    Strings rooms;
    rooms.reserve(kRooms);
    for (std::size_t i = 0; i < kRooms; ++i) rooms.push_back("room_" + std::to_string(i));
    // Granted to two of the user's rooms: each room must come back once.
    ASSERT_TRUE(grants.add(Strings{"user_1", "team_1"}, rooms, kT0));
    EXPECT_LE(grants.visits(), 2 * kRooms + 2);
    const auto before = grants.visits();
    const Strings granted = grants.rooms_for(Strings{"user_1", "team_1", "other"}, kT0 + seconds(1));
    EXPECT_EQ(granted.size(), kRooms);
    EXPECT_LE(grants.visits() - before, 4 * kRooms);  // 2 × 100,000 copied, each checked once
    EXPECT_EQ(sorted(granted), sorted(rooms));
}

TEST(Grants, ExpiringCostsTheExpiredEntries) {
    Grants grants(seconds(60), 3);
    grants.add(Strings{"user_1"}, Strings{"a", "b"}, kT0);
    grants.add(Strings{"user_2"}, Strings{"c"}, kT0 + seconds(30));
    // Full; user_1's grants expire first and make room, user_2's stay.
    EXPECT_TRUE(grants.add(Strings{"user_3"}, Strings{"d"}, kT0 + seconds(61)));
    EXPECT_EQ(grants.size(), 2U);
    EXPECT_EQ(grants.rooms_for(Strings{"user_2"}, kT0 + seconds(61)), Strings{"c"});
    EXPECT_TRUE(grants.rooms_for(Strings{"user_1"}, kT0 + seconds(61)).empty());
}

}  // namespace
}  // namespace nudge::hub
