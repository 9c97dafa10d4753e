#include <gtest/gtest.h>

#include "net/jwks_refresher.hpp"

namespace nudge::net {
namespace {

TEST(JwksUrl, HttpsDefaultsToPort443) {
    auto url = parse_jwks_url("https://idp.example/.well-known/jwks.json");
    ASSERT_TRUE(url) << url.error();
    EXPECT_TRUE(url->tls);
    EXPECT_EQ(url->host, "idp.example");
    EXPECT_EQ(url->port, "443");
    EXPECT_EQ(url->authority, "idp.example");
    EXPECT_EQ(url->target, "/.well-known/jwks.json");
}

TEST(JwksUrl, HttpDefaultsToPort80) {
    auto url = parse_jwks_url("http://127.0.0.1/jwks");
    ASSERT_TRUE(url) << url.error();
    EXPECT_FALSE(url->tls);
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, "80");
    EXPECT_EQ(url->target, "/jwks");
}

TEST(JwksUrl, ExplicitPortAndQueryKeptFragmentDropped) {
    auto url = parse_jwks_url("https://login.example:8443/t/keys?x=1#frag");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->host, "login.example");
    EXPECT_EQ(url->port, "8443");
    EXPECT_EQ(url->authority, "login.example:8443");
    EXPECT_EQ(url->target, "/t/keys?x=1");
}

TEST(JwksUrl, NoPathMeansRoot) {
    auto bare = parse_jwks_url("https://idp.example");
    ASSERT_TRUE(bare) << bare.error();
    EXPECT_EQ(bare->target, "/");
    auto query = parse_jwks_url("https://idp.example?a=b");
    ASSERT_TRUE(query) << query.error();
    EXPECT_EQ(query->host, "idp.example");
    EXPECT_EQ(query->target, "/?a=b");
}

TEST(JwksUrl, Ipv6LiteralLosesItsBrackets) {
    auto url = parse_jwks_url("https://[::1]:9443/jwks.json");
    ASSERT_TRUE(url) << url.error();
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->port, "9443");
    EXPECT_EQ(url->authority, "[::1]:9443");
    auto no_port = parse_jwks_url("https://[2001:db8::1]/k");
    ASSERT_TRUE(no_port) << no_port.error();
    EXPECT_EQ(no_port->host, "2001:db8::1");
    EXPECT_EQ(no_port->port, "443");
}

TEST(JwksUrl, RefusesOtherSchemesAndBadAuthorities) {
    for (const char* bad :
         {"ftp://idp.example/jwks", "idp.example/jwks", "HTTPS//x", "https://", "https:///jwks",
          "https://:443/jwks", "https://idp.example:/jwks", "https://idp.example:0/jwks",
          "https://idp.example:65536/jwks", "https://idp.example:44x/jwks",
          "https://user:pw@idp.example/jwks", "https://[::1/jwks", "https://[::1]x/jwks"}) {
        EXPECT_FALSE(parse_jwks_url(bad)) << bad;
    }
}

}  // namespace
}  // namespace nudge::net
