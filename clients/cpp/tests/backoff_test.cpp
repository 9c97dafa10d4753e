#include "backoff.hpp"

#include <gtest/gtest.h>

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

TEST(Backoff, RetryAfterIsAFloorUnderTheCap) {
    const Backoff backoff{milliseconds(100), milliseconds(5000)};
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(1000)), milliseconds(1000));
    EXPECT_EQ(retry_delay(backoff, 6, milliseconds(1000)), milliseconds(3200));
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(0)), milliseconds(100));
    EXPECT_EQ(retry_delay(backoff, 1, milliseconds(3'600'000)), milliseconds(5000));
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
