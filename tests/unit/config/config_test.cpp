// config::parse and config::summary through argv, as nudged gets them (--check-config prints
// summary(); tests/integration/config.test.mjs runs the binary itself).
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace nudge::config {
namespace {

ParseOutcome parse_args(std::vector<std::string> args) {
    args.insert(args.begin(), "nudged");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse(static_cast<int>(argv.size()), argv.data());
}

std::string write_temp(const std::string& name, const std::string& text) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("nudge-config-test-" + std::to_string(::getpid()) + "-" + name);
    std::ofstream(path) << text;
    return path.string();
}

TEST(ConfigParse, CheckConfigAndDrainSecondsAreParsed) {
    const auto outcome = parse_args({"--jwt-secret", std::string(32, 's'), "--api-key", std::string(16, 'k'),
                                     "--check-config", "--drain-seconds", "7"});
    ASSERT_TRUE(outcome.config);
    EXPECT_TRUE(outcome.config->check_config);
    EXPECT_EQ(outcome.config->shutdown.drain, std::chrono::seconds(7));

    const auto defaults = parse_args({"--dev"});
    ASSERT_TRUE(defaults.config);
    EXPECT_FALSE(defaults.config->check_config);
    EXPECT_EQ(defaults.config->shutdown.drain, std::chrono::seconds(0));
}

TEST(ConfigParse, DeliveryGuaranteeSettings) {
    const auto defaults = parse_args({"--dev"});
    ASSERT_TRUE(defaults.config);
    // auto: history kept, recovery for the sessions that ask (see docs/delivery.md).
    EXPECT_TRUE(defaults.config->broker.recovery);
    EXPECT_TRUE(defaults.config->session.recovery);
    EXPECT_FALSE(defaults.config->session.recovery_for_all);
    EXPECT_EQ(defaults.config->refetch_rate, 0U);
    const auto off = parse_args({"--dev", "--recovery", "off", "--refetch-rate", "2000"});
    ASSERT_TRUE(off.config);
    EXPECT_FALSE(off.config->broker.recovery);
    EXPECT_FALSE(off.config->session.recovery);
    EXPECT_FALSE(off.config->session.recovery_for_all);
    EXPECT_EQ(off.config->refetch_rate, 2000U);
    EXPECT_EQ(parse_args({"--dev", "--refetch-rate", "-1"}).exit_code, 2);
    EXPECT_EQ(defaults.config->broker.history.ttl, std::chrono::seconds(120));
    EXPECT_EQ(defaults.config->broker.idempotency_window, std::chrono::seconds(300));

    const auto set = parse_args({"--dev", "--recovery", "on", "--history-size", "5", "--history-ttl",
                                 "7", "--max-replay", "9", "--idempotency-window", "11",
                                 "--idempotency-max-entries", "13"});
    ASSERT_TRUE(set.config);
    const auto& broker = set.config->broker;
    EXPECT_TRUE(broker.recovery);
    EXPECT_TRUE(set.config->session.recovery);
    EXPECT_TRUE(set.config->session.recovery_for_all);
    EXPECT_EQ(broker.history.max_per_room, 5U);
    EXPECT_EQ(broker.history.ttl, std::chrono::seconds(7));
    EXPECT_EQ(broker.history.tombstone_ttl, std::chrono::seconds(70));
    EXPECT_EQ(broker.history.max_replay, 9U);
    EXPECT_EQ(broker.idempotency_window, std::chrono::seconds(11));
    EXPECT_EQ(broker.idempotency_max_entries, 13U);
    EXPECT_EQ(parse_args({"--dev", "--recovery", "maybe"}).exit_code, 2);
    EXPECT_EQ(parse_args({"--dev", "--history-size", "0"}).exit_code, 2);
}

TEST(ConfigParse, BadConfigurationsExit2) {
    EXPECT_EQ(parse_args({"--dev", "--drain-seconds", "3601"}).exit_code, 2);
    EXPECT_FALSE(parse_args({"--dev", "--host", "localhost"}).config);  // an IP address is required
    EXPECT_EQ(parse_args({"--jwt-secret", "s"}).exit_code, 2);          // no API key
    EXPECT_EQ(parse_args({"--dev", "--jwt-public-key", "/nonexistent/key.pem"}).exit_code, 2);
}

TEST(ConfigParse, ShortSecretsAndKeysAreRefusedOutsideDev) {
    const std::string secret(kMinJwtSecretBytes, 's');
    const std::string key(kMinApiKeyBytes, 'k');
    EXPECT_TRUE(parse_args({"--jwt-secret", secret, "--api-key", key}).config);
    EXPECT_EQ(parse_args({"--jwt-secret", secret.substr(1), "--api-key", key}).exit_code, 2);
    EXPECT_EQ(parse_args({"--jwt-secret", secret, "--api-key", key.substr(1)}).exit_code, 2);
    EXPECT_EQ(parse_args({"--check-config", "--jwt-secret", "abc", "--api-key", key}).exit_code, 2);
    // A public key has no length to check; the API key still does.
    EXPECT_EQ(parse_args({"--jwt-jwks", "/nonexistent.json", "--api-key", "k"}).exit_code, 2);
    // --dev takes anything, for local experiments.
    EXPECT_TRUE(parse_args({"--dev", "--jwt-secret", "abc", "--api-key", "k"}).config);
}

TEST(ConfigParse, AnUnknownSettingInTheFileIsAnError) {
    const auto typo =
        write_temp("typo.toml", "jwt-secret = \"s\"\napi-key = \"k\"\napi_key = \"k\"\ndev = true\n");
    EXPECT_EQ(parse_args({"--config", typo}).exit_code, 2);
    const auto section = write_temp("section.toml", "[listen]\nport = 1\n");
    EXPECT_EQ(parse_args({"--dev", "--config", section}).exit_code, 2);
    const auto good = write_temp("good.toml", "jwt-secret = \"" + std::string(32, 's') +
                                                  "\"\napi-key = \"" + std::string(16, 'k') +
                                                  "\"\nport = 9001\nanonymous-rooms = [\"a\", \"b\"]\n");
    const auto outcome = parse_args({"--config", good});
    ASSERT_TRUE(outcome.config);
    EXPECT_EQ(outcome.config->listen.port, 9001);
    EXPECT_EQ(outcome.config->session.anonymous_rooms, (std::vector<std::string>{"a", "b"}));
    for (const auto& f : {typo, section, good}) std::filesystem::remove(f);
}

TEST(ConfigSummary, ShowsSettingsButNeverSecrets) {
    const std::string secret(40, 'q');
    const auto outcome =
        parse_args({"--jwt-secret", secret, "--api-key", "the-api-key-value", "--port", "9100",
                    "--threads", "3", "--jwt-issuer", "bank", "--drain-seconds", "12"});
    ASSERT_TRUE(outcome.config);
    const std::string text = summary(*outcome.config);
    EXPECT_EQ(text.rfind("nudged: configuration OK\n", 0), 0U) << text;
    EXPECT_NE(text.find("127.0.0.1:9100 threads=3"), std::string::npos) << text;
    EXPECT_NE(text.find("HS256 secret (40 bytes)"), std::string::npos) << text;
    EXPECT_NE(text.find("issuer=bank audience=(any)"), std::string::npos) << text;
    EXPECT_NE(text.find("set (17 bytes)"), std::string::npos) << text;
    EXPECT_NE(text.find("drain 12s"), std::string::npos) << text;
    EXPECT_EQ(text.find(secret), std::string::npos) << "the secret is printed";
    EXPECT_EQ(text.find("the-api-key-value"), std::string::npos) << "the API key is printed";
    EXPECT_EQ(text.find("warning"), std::string::npos) << text;
}

TEST(ConfigSummary, WarnsAboutDevModeAndShortSecrets) {
    const auto dev = parse_args({"--dev"});
    ASSERT_TRUE(dev.config);
    EXPECT_NE(summary(*dev.config).find("warning: --dev is set"), std::string::npos);

    const auto short_secret =
        parse_args({"--dev", "--jwt-secret", std::string(31, 's'), "--api-key", "k"});
    ASSERT_TRUE(short_secret.config);
    EXPECT_NE(summary(*short_secret.config).find("warning: the JWT secret is 31 bytes"),
              std::string::npos);
}

}  // namespace
}  // namespace nudge::config
