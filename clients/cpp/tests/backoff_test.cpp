#include "backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace nudge::detail {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesFromTheFirstWaitUpToTheCap) {
    const Backoff backoff{milliseconds(100), milliseconds(1000)};
    EXPECT_EQ(retry_delay(backoff, 1, std::nullopt), milliseconds(100));
    EXPECT_EQ(retry_delay(backoff, 2, std::nullopt), milliseconds(200));
    EXPECT_EQ(retry_delay(backoff, 3, std::nullopt), milliseconds(400));
    EXPECT_EQ(retry_delay(backoff, 4, std::nullopt), milliseconds(800));
    EXPECT_EQ(retry_delay(backoff, 5, std::nullopt), milliseconds(1000));
    EXPECT_EQ(retry_delay(backoff, 4'000'000'000U, std::nullopt), milliseconds(1000));
}

TEST(Backoff, DoublesFromTheRetryAfterWhichIsAFloorUnderTheCap) {
    const Backoff backoff{milliseconds(100), milliseconds(5000)};
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(1000)), milliseconds(1000));
    EXPECT_EQ(retry_delay(backoff, 2, milliseconds(1000)), milliseconds(2000));
    EXPECT_EQ(retry_delay(backoff, 6, milliseconds(1000)), milliseconds(5000));
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(0)), milliseconds(100));
    EXPECT_EQ(retry_delay(backoff, 2, milliseconds(0)), milliseconds(200));
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(3'600'000)), milliseconds(5000));
}

TEST(Backoff, TheDefaultsFromTheHubsRetryAfterOf1s) {
    const Backoff backoff{};  // 500 ms, at most 8 s
    std::vector<milliseconds> waits;
    for (unsigned retry = 1; retry <= 6; ++retry) {
        waits.push_back(retry_delay(backoff, retry, milliseconds(1000)));
    }
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds(1000), milliseconds(2000),
                                                milliseconds(4000), milliseconds(8000),
                                                milliseconds(8000), milliseconds(8000)}));
    EXPECT_EQ(retry_delay(backoff, 1, std::nullopt), milliseconds(500));
}

TEST(Backoff, JitterScalesTheWaitButNeverBelowTheRetryAfter) {
    const Backoff backoff{};
    EXPECT_EQ(retry_delay(backoff, 3, milliseconds(1000), 0.8), milliseconds(3200));
    EXPECT_EQ(retry_delay(backoff, 3, milliseconds(1000), 1.2), milliseconds(4800));
    EXPECT_EQ(retry_delay(backoff, 5, milliseconds(1000), 1.2), milliseconds(9600));
    EXPECT_EQ(retry_delay(backoff, 5, std::nullopt, 0.8), milliseconds(6400));
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(1000), 0.8), milliseconds(1000));
    EXPECT_EQ(retry_delay(backoff, 1, std::nullopt, 0.8), milliseconds(400));
}

TEST(Backoff, ZeroWaitsStayZero) {
    const Backoff backoff{milliseconds(0), milliseconds(0)};
    EXPECT_EQ(retry_delay(backoff, 3, std::nullopt), milliseconds(0));
    EXPECT_EQ(retry_delay(backoff, 3, milliseconds(1000)), milliseconds(0));
}

TEST(Backoff, AFirstWaitAboveTheCapIsCapped) {
    EXPECT_EQ(retry_delay(Backoff{milliseconds(900), milliseconds(500)}, 1, std::nullopt),
              milliseconds(500));
}

}  // namespace
}  // namespace nudge::detail
