#include "common/random_id.hpp"

#include <gtest/gtest.h>

#include <set>

namespace nudge {
namespace {

TEST(RandomId, IsTwentyBase64UrlCharactersAndUnique) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = random_id();
        ASSERT_EQ(id.size(), 20U);
        EXPECT_EQ(id.find_first_not_of(
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos);
        EXPECT_TRUE(seen.insert(id).second);
    }
}

}  // namespace
}  // namespace nudge
