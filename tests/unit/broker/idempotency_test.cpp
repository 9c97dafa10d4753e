#include "broker/idempotency.hpp"

#include <gtest/gtest.h>

#include "metrics/metrics.hpp"

namespace nudge::broker {
namespace {

using namespace std::chrono_literals;

TEST(IdempotencyCache, RemembersAnIdForTheWindow) {
    IdempotencyCache ids(10s, 100);
    const auto t0 = IdempotencyCache::Clock::now();
    EXPECT_FALSE(ids.find("a", t0));
    EXPECT_EQ(ids.insert("a", 7, t0), 0U);
    EXPECT_EQ(ids.find("a", t0 + 9s), 7U);
    EXPECT_FALSE(ids.find("a", t0 + 11s));
    ids.expire(t0 + 11s);
    EXPECT_EQ(ids.size(), 0U);
}

TEST(IdempotencyCache, AnExpiredIdUsedAgainIsRememberedAfresh) {
    IdempotencyCache ids(10s, 100);
    const auto t0 = IdempotencyCache::Clock::now();
    ids.insert("a", 1, t0);
    ids.insert("a", 2, t0 + 11s);  // past the window: a new event
    ids.expire(t0 + 12s);          // drops the stale record, not the renewed entry
    EXPECT_EQ(ids.find("a", t0 + 12s), 2U);
}

TEST(IdempotencyCache, BoundedByForgettingTheOldest) {
    IdempotencyCache ids(10s, 2);
    const auto t0 = IdempotencyCache::Clock::now();
    ids.insert("a", 1, t0);
    ids.insert("b", 2, t0);
    EXPECT_EQ(ids.insert("c", 3, t0), 1U);
    EXPECT_EQ(ids.size(), 2U);
    EXPECT_FALSE(ids.find("a", t0));
    EXPECT_EQ(ids.find("c", t0), 3U);
}

// Evictions and expirations are counted per table for /metrics.
TEST(IdempotencyCache, EvictionsAndExpirationsAreCountedForMetrics) {
    auto& registry = metrics::registry();
    auto count = [&](metrics::Labeled<8>& c) { return c[metrics::Table::kIdempotency].read(); };
    const auto evicted = count(registry.table_evictions);
    const auto expired = count(registry.table_expirations);
    IdempotencyCache ids(10s, 2);
    const auto t0 = IdempotencyCache::Clock::now();
    ids.insert("a", 1, t0);
    ids.insert("b", 2, t0);
    EXPECT_EQ(ids.insert("c", 3, t0), 1U);  // a is forgotten early
    EXPECT_EQ(count(registry.table_evictions), evicted + 1);
    ids.expire(t0 + 11s);
    EXPECT_EQ(count(registry.table_expirations), expired + 2);
    EXPECT_NE(registry.render().find("nudge_table_evictions_total{table=\"idempotency\"} " +
                                     std::to_string(evicted + 1) + "\n"),
              std::string::npos);
}

}  // namespace
}  // namespace nudge::broker
