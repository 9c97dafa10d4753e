#include "hub_answer.hpp"

#include <gtest/gtest.h>

namespace nudge::detail {
namespace {

TEST(HubAnswer, AcceptedWithTheRightCount) {
    const auto result = interpret({202, R"({"accepted":3})", ""}, 3);
    ASSERT_TRUE(result) << result.error().describe();
    EXPECT_EQ(result->events, 3U);
}

TEST(HubAnswer, AMembershipRequestIsAcceptedWithTrue) {
    const auto result = interpret({202, R"({"accepted":true})", ""}, 0);
    ASSERT_TRUE(result) << result.error().describe();
    EXPECT_EQ(result->events, 0U);
    for (std::string_view body : {R"({"accepted":false})", R"({"accepted":1})", "{}"}) {
        const auto refused = interpret({202, std::string(body), ""}, 0);
        ASSERT_FALSE(refused) << body;
        EXPECT_NE(refused.error().message.find(R"(expected {"accepted":true})"), std::string::npos)
            << refused.error().message;
    }
}

TEST(HubAnswer, AWrongOrMissingCountIsABadResponse) {
    for (std::string_view body : {R"({"accepted":2})", R"({"accepted":-3})", R"({"accepted":"3"})",
                                  R"({})", "accepted", ""}) {
        const auto result = interpret({202, std::string(body), ""}, 3);
        ASSERT_FALSE(result) << body;
        EXPECT_EQ(result.error().kind, ErrorKind::kBadResponse) << body;
        EXPECT_EQ(result.error().status, 202U);
        EXPECT_NE(result.error().message.find(R"(expected {"accepted":3})"), std::string::npos)
            << result.error().message;
    }
}

TEST(HubAnswer, StatusesMapToKindsWithTheHubsCodeAndMessage) {
    struct Case {
        unsigned status;
        std::string_view code;
        ErrorKind kind;
    };
    for (const Case& c : {Case{401, "unauthorized", ErrorKind::kUnauthorized},
                          Case{400, "reserved_event", ErrorKind::kRejected},
                          Case{404, "not_found", ErrorKind::kRejected},
                          Case{405, "method_not_allowed", ErrorKind::kRejected},
                          Case{413, "payload_too_large", ErrorKind::kTooLarge},
                          Case{431, "headers_too_large", ErrorKind::kRejected},
                          Case{500, "internal", ErrorKind::kUnavailable},
                          Case{503, "overloaded", ErrorKind::kUnavailable},
                          Case{302, "moved", ErrorKind::kBadResponse},
                          Case{100, "continue", ErrorKind::kBadResponse}}) {
        const std::string body = R"({"error":{"code":")" + std::string(c.code) +
                                 R"(","message":"event: \"connect\" is reserved"}})";
        const auto result = interpret({c.status, body, ""}, 1);
        ASSERT_FALSE(result) << c.status;
        EXPECT_EQ(result.error().kind, c.kind) << c.status;
        EXPECT_EQ(result.error().status, c.status);
        EXPECT_EQ(result.error().code, c.code);
        EXPECT_EQ(result.error().message, R"(event: "connect" is reserved)");
    }
}

TEST(HubAnswer, AForeignBodyIsQuotedShortened) {
    const auto html = interpret({502, "<html>Bad Gateway</html>", ""}, 1);
    ASSERT_FALSE(html);
    EXPECT_EQ(html.error().kind, ErrorKind::kUnavailable);
    EXPECT_EQ(html.error().code, "");
    EXPECT_EQ(html.error().message, "<html>Bad Gateway</html>");

    const auto empty = interpret({404, "", ""}, 1);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().message, "(empty body)");

    const auto huge = interpret({400, std::string(10000, 'x'), ""}, 1);
    ASSERT_FALSE(huge);
    EXPECT_LT(huge.error().message.size(), 300U);
    EXPECT_EQ(huge.error().message.substr(0, 200), std::string(200, 'x'));
}

TEST(HubAnswer, HalfTheHubsErrorFormatKeepsWhatIsThere) {
    const auto code_only = interpret({400, R"({"error":{"code":"invalid_json"}})", ""}, 1);
    ASSERT_FALSE(code_only);
    EXPECT_EQ(code_only.error().code, "invalid_json");
    EXPECT_EQ(code_only.error().message, "");
    const auto not_strings = interpret({400, R"({"error":{"code":7,"message":[]}})", ""}, 1);
    ASSERT_FALSE(not_strings);
    EXPECT_EQ(not_strings.error().code, "");
    EXPECT_EQ(not_strings.error().message, R"({"error":{"code":7,"message":[]}})");
}

TEST(HubAnswer, RetryAfterInSeconds) {
    EXPECT_EQ(parse_retry_after("1"), std::chrono::seconds(1));
    EXPECT_EQ(parse_retry_after(" 120 "), std::chrono::seconds(120));
    EXPECT_EQ(parse_retry_after("0"), std::chrono::seconds(0));
    EXPECT_EQ(parse_retry_after(""), std::nullopt);
    EXPECT_EQ(parse_retry_after("-1"), std::nullopt);
    EXPECT_EQ(parse_retry_after("1.5"), std::nullopt);
    EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), std::nullopt);
    EXPECT_EQ(parse_retry_after("99999999999999"), std::nullopt);
}

}  // namespace
}  // namespace nudge::detail
