#include "common/digest.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace {

template <std::size_t N>
std::string hex(const std::array<unsigned char, N>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char byte : bytes) {
        out.push_back(kDigits[byte >> 4]);
        out.push_back(kDigits[byte & 0xF]);
    }
    return out;
}

// FIPS 180-2's test vectors; the context is reused, so each input is hashed twice in a row.
TEST(Digest, Sha1MatchesTheStandardVectors) {
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(hex(nudge::sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
        EXPECT_EQ(hex(nudge::sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }
}

TEST(Digest, Sha256MatchesTheStandardVectors) {
    for (int i = 0; i < 2; ++i) {
        EXPECT_EQ(hex(nudge::sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        EXPECT_EQ(hex(nudge::sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}

TEST(Digest, EveryThreadGetsTheSameAnswer) {
    std::vector<std::string> got(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < got.size(); ++t) {
        threads.emplace_back([&got, t] {
            for (int i = 0; i < 1000; ++i) got[t] = hex(nudge::sha256("abc")) + hex(nudge::sha1("abc"));
        });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& g : got) {
        EXPECT_EQ(g, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
                     "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}

}  // namespace
