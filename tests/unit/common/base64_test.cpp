#include "common/base64.hpp"

#include <gtest/gtest.h>

namespace nudge {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64Url, RoundTripsEveryLengthAndByte) {
    std::string bytes;
    for (int i = 0; i < 300; ++i) {
        bytes.push_back(static_cast<char>(i * 37 % 256));
        const std::string encoded = base64url_encode(bytes);
        EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos);
        const auto decoded = base64url_decode(encoded);
        ASSERT_TRUE(decoded.has_value()) << i;
        EXPECT_EQ(*decoded, bytes);
    }
}

TEST(Base64Url, AcceptsPaddingAndRejectsGarbage) {
    EXPECT_EQ(base64url_decode("Zm8="), "fo");
    EXPECT_EQ(base64url_decode("Zm8"), "fo");
    EXPECT_EQ(base64url_decode("_-8"), std::string("\xff\xef", 2));
    EXPECT_FALSE(base64url_decode("Zm8+").has_value());
    EXPECT_FALSE(base64url_decode("Z").has_value());
    EXPECT_FALSE(base64url_decode("Zm*v").has_value());
}

}  // namespace
}  // namespace nudge
