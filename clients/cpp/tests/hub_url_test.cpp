#include "hub_url.hpp"

#include <gtest/gtest.h>

namespace nudge::detail {
namespace {

TEST(HubUrl, HostAndPort) {
    const auto url = parse_hub_url("http://127.0.0.1:8080");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, "8080");
    EXPECT_EQ(url->authority, "127.0.0.1:8080");
    EXPECT_EQ(url->target("/api/v1/emit"), "/api/v1/emit");
}

TEST(HubUrl, PortDefaultsTo80) {
    const auto url = parse_hub_url("http://hub.internal");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->host, "hub.internal");
    EXPECT_EQ(url->port, "80");
    EXPECT_EQ(url->authority, "hub.internal");
}

TEST(HubUrl, PathPrefixWithoutTrailingSlash) {
    for (std::string_view text :
         {"http://proxy:81/nudge", "http://proxy:81/nudge/", "http://proxy:81/nudge//"}) {
        const auto url = parse_hub_url(text);
        ASSERT_TRUE(url) << url.error();
        EXPECT_EQ(url->target("/api/v1/emit"), "/nudge/api/v1/emit") << text;
    }
    const auto root = parse_hub_url("http://proxy:81/");
    ASSERT_TRUE(root);
    EXPECT_EQ(root->target("/api/v1/emit"), "/api/v1/emit");
}

TEST(HubUrl, BracketedIpv6) {
    const auto url = parse_hub_url("http://[::1]:9000");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->port, "9000");
    EXPECT_EQ(url->authority, "[::1]:9000");
    const auto no_port = parse_hub_url("http://[::1]");
    ASSERT_TRUE(no_port);
    EXPECT_EQ(no_port->port, "80");
}

TEST(HubUrl, RefusalsNameTheProblem) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"127.0.0.1:8080", "has no http:// scheme"},
        {"https://hub:443", "must start with http://"},
        {"ws://hub:80", "must start with http://"},
        {"http://", "has no host"},
        {"http://:8080", "has no host"},
        {"http://hub:", "has an empty port"},
        {"http://hub:0", "has a bad port"},
        {"http://hub:65536", "has a bad port"},
        {"http://hub:80x", "has a bad port"},
        {"http://hub:-1", "has a bad port"},
        {"http://[::1", "has an unclosed '['"},
        {"http://[::1]x", "has text after ']'"},
        {"http://user:pw@hub:80", "must not have user info"},
        {"http://hub:80/x?y=1", "must not have a query or fragment"},
        {"http://hub:80#f", "must not have a query or fragment"},
    };
    for (const auto& [text, why] : cases) {
        const auto url = parse_hub_url(text);
        ASSERT_FALSE(url) << text;
        EXPECT_NE(url.error().find(why), std::string::npos) << text << " → " << url.error();
        EXPECT_NE(url.error().find(text), std::string::npos) << url.error();
    }
}

}  // namespace
}  // namespace nudge::detail
