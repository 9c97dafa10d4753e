// PendingWaits: a claim per callback object, released however the callback ends.
#include "net/pending_waits.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <utility>

namespace nudge::net {
namespace {

TEST(PendingWaits, ATokenHeldByACallbackKeepsTheWaitUntilTheCallbackIsGone) {
    PendingWaits waits;
    EXPECT_TRUE(waits.none());
    std::optional<std::function<void()>> callback;
    callback.emplace([token = waits.token()] {});
    EXPECT_FALSE(waits.none());
    (*callback)();
    EXPECT_FALSE(waits.none()) << "ran, but the callback object still exists";
    callback.reset();
    EXPECT_TRUE(waits.none());
}

TEST(PendingWaits, CopiesClaimTooAndMovesDoNotDoubleCount) {
    PendingWaits waits;
    std::function<void()> first = [token = waits.token()] {};
    std::function<void()> copy = first;  // e.g. an executor copying a handler
    first = nullptr;
    EXPECT_FALSE(waits.none());
    std::function<void()> moved = std::move(copy);
    copy = nullptr;
    EXPECT_FALSE(waits.none());
    moved = nullptr;
    EXPECT_TRUE(waits.none());
}

TEST(PendingWaits, AnOperationDroppedUnrunReleasesItsClaim) {
    PendingWaits waits;
    {
        auto token = waits.token();
        EXPECT_FALSE(waits.none());
    }
    EXPECT_TRUE(waits.none());
}

}  // namespace
}  // namespace nudge::net
