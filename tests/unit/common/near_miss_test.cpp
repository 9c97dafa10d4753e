#include "common/near_miss.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nudge {
namespace {

TEST(EditDistance, CountsInsertionsDeletionsSubstitutionsAndSwaps) {
    EXPECT_EQ(edit_distance("", ""), 0U);
    EXPECT_EQ(edit_distance("port", "port"), 0U);
    EXPECT_EQ(edit_distance("prot", "port"), 1U);       // a swap
    EXPECT_EQ(edit_distance("apikey", "api-key"), 1U);  // an insertion
    EXPECT_EQ(edit_distance("emitt", "emit"), 1U);      // a deletion
    EXPECT_EQ(edit_distance("host", "hoss"), 1U);       // a substitution
    EXPECT_EQ(edit_distance("", "abc"), 3U);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3U);
}

TEST(NearMiss, SuggestsTheClosestCandidateWithinAThirdOfTheWord) {
    const std::vector<std::string> flags{"--host", "--port", "--api-key", "--jwt-secret"};
    EXPECT_EQ(near_miss("--prot", flags), "--port");
    EXPECT_EQ(near_miss("--apikey", flags), "--api-key");
    EXPECT_EQ(near_miss("--jwt-secert", flags), "--jwt-secret");
    EXPECT_EQ(near_miss("--verbose", flags), std::nullopt);
    const std::vector<std::string> commands{"emit", "rooms", "token"};
    EXPECT_EQ(near_miss("emitt", commands), "emit");
    EXPECT_EQ(near_miss("tokne", commands), "token");
    EXPECT_EQ(near_miss("x", commands), std::nullopt);
    EXPECT_EQ(near_miss("anything", std::vector<std::string>{}), std::nullopt);
}

}  // namespace
}  // namespace nudge
