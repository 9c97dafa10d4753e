#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

#include <latch>
#include <thread>
#include <vector>

#include "auth/jwt_verifier.hpp"
#include "session/protocol.hpp"

namespace nudge::metrics {
namespace {

constexpr int kAdds = 1000000;

// Several worker threads, each on its own cell, plus several threads on the shared cell:
// the sum is exact (no lost updates on the shared cell, no aliasing of worker cells).
TEST(MetricsCells, ConcurrentAddsSumExactly) {
    Value value;
    std::vector<std::thread> threads;
    std::latch start(8);  // all threads add at once, so the shared cell is contended
    for (std::size_t w = 0; w < 4; ++w) {
        threads.emplace_back([&value, &start, w] {
            set_thread_slot(w);
            start.arrive_and_wait();
            for (int i = 0; i < kAdds; ++i) value.add(1);
        });
    }
    for (int s = 0; s < 4; ++s) {
        threads.emplace_back([&value, &start] {
            EXPECT_EQ(thread_slot(), kSharedSlot);
            start.arrive_and_wait();
            for (int i = 0; i < kAdds; ++i) value.add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(value.read(), std::int64_t{8} * kAdds);
}

TEST(MetricsCells, EveryWorkerSlotIsItsOwnCell) {
    Value value;
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < kWorkerSlots; ++w) {
        threads.emplace_back([&value, w] {
            set_thread_slot(w);
            for (int i = 0; i < 1000; ++i) value.add(1);
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(value.read(), static_cast<std::int64_t>(kWorkerSlots) * 1000);
}

TEST(MetricsCells, SlotIsReleasedWhenTheThreadExits) {
    std::thread([] { set_thread_slot(3); }).join();
    std::thread([] {
        set_thread_slot(3);  // would abort if the first claim had outlived its thread
        EXPECT_EQ(thread_slot(), 3U);
    }).join();
}

TEST(MetricsCellsDeathTest, SlotPastTheCellsAborts) {
    EXPECT_DEATH(set_thread_slot(kWorkerSlots), "past the number of worker cells");
    EXPECT_DEATH(set_thread_slot(1000), "past the number of worker cells");
}

TEST(MetricsCellsDeathTest, TwoLiveThreadsOnOneSlotAbort) {
    EXPECT_DEATH(
        {
            set_thread_slot(5);
            std::thread([] { set_thread_slot(5); }).join();
        },
        "same worker cell");
}

enum class Color { kRed, kGreen, kCount };

TEST(MetricsLabels, LabelEnumNamesEveryValue) {
    Labeled<4> counter;
    label_enum<Color>(counter, [](Color c) { return c == Color::kRed ? "red" : "green"; });
    EXPECT_EQ(counter.labels[0], "red");
    EXPECT_EQ(counter.labels[1], "green");
    EXPECT_TRUE(counter.labels[2].empty());
}

TEST(MetricsLabelsDeathTest, AnEmptyLabelAborts) {
    Labeled<4> counter;
    EXPECT_DEATH(label_enum<Color>(counter, [](Color c) { return c == Color::kRed ? "red" : ""; }),
                 "label is empty");
}

template <class Enum, std::size_t N, class NameFn>
void expect_every_value_named(NameFn name) {
    Labeled<N> counter;
    label_enum<Enum>(counter, name);
    for (std::size_t i = 0; i < static_cast<std::size_t>(Enum::kCount); ++i) {
        EXPECT_FALSE(counter.labels[i].empty()) << i;
        EXPECT_NE(counter.labels[i], "unknown") << i;
    }
}

// The hub's labelled enums: every value has a label (the registry counters hold them all).
TEST(MetricsLabels, HubEnumsAreFullyLabelled) {
    expect_every_value_named<auth::AuthError, 16>(auth::reason);
    expect_every_value_named<session::CloseReason, 16>(session::to_string);
    expect_every_value_named<ApiStatus, 16>([](ApiStatus s) { return label(s); });
    const Registry& r = registry();
    EXPECT_EQ(r.api_requests.labels[static_cast<std::size_t>(ApiStatus::k429)], "429");
    EXPECT_EQ(api_status(429), ApiStatus::k429);
    EXPECT_EQ(api_status(302), ApiStatus::kOther);
}

TEST(MetricsRender, ShowsApiAuthCounters) {
    registry().api_auth_failures.add(1);
    const std::string text = registry().render();
    EXPECT_NE(text.find("nudge_api_auth_failures_total 1\n"), std::string::npos);
    EXPECT_NE(text.find("nudge_api_requests_total{status=\"429\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace nudge::metrics
