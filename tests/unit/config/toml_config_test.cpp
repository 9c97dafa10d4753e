// TomlConfig behind a CLI::App of its own: what the file may say, and the errors with their
// file:line:column (the binary's messages are checked in tests/integration/config.test.mjs).
#include "config/toml_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace nudge::config {
namespace {

struct Settings {
    unsigned short port = 8080;
    std::string secret;
    bool dev = false;
    bool subscriptions = true;
    double ratio = 0;
    std::vector<std::string> rooms;
};

class TomlConfigTest : public ::testing::Test {
protected:
    void TearDown() override { std::filesystem::remove(path_); }

    // Parses `--config <file with text>`; the ConfigError's message, or "" on success.
    std::string load(const std::string& text) {
        path_ = (std::filesystem::temp_directory_path() /
                 ("nudge-toml-test-" + std::to_string(::getpid()) + ".toml"))
                    .string();
        std::ofstream(path_) << text;
        CLI::App app{"test", "test"};
        app.set_config("--config");
        app.config_formatter(std::make_shared<TomlConfig>(app));
        app.allow_config_extras(CLI::config_extras_mode::error);
        auto* group = app.add_option_group("group");
        group->add_option("--port", settings.port);
        group->add_option("--jwt-secret", settings.secret);
        app.add_flag("--dev", settings.dev);
        app.add_flag("--client-subscriptions,!--no-client-subscriptions", settings.subscriptions);
        app.add_option("--ratio", settings.ratio);
        app.add_option("--anonymous-rooms", settings.rooms)->delimiter(',');
        app.add_flag("--check-config")->configurable(false);
        const std::vector<std::string> args{"--config", path_};
        std::vector<const char*> argv{"test"};
        for (const auto& arg : args) argv.push_back(arg.c_str());
        try {
            app.parse(static_cast<int>(argv.size()), argv.data());
        } catch (const CLI::ConfigError& error) {
            return error.what();
        }
        return {};
    }

    std::string at(int line, int column) const {
        return path_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
    }

    Settings settings;
    std::string path_;
};

TEST_F(TomlConfigTest, EveryOptionIsAKeyOfItsType) {
    EXPECT_EQ(load("# a comment\nport = 9001\njwt-secret = \"abc\"\ndev = true\n"
                   "no-client-subscriptions = true\nratio = 0.5\n"
                   "anonymous-rooms = [\"lobby\", \"news\"]\n"),
              "");
    EXPECT_EQ(settings.port, 9001);
    EXPECT_EQ(settings.secret, "abc");
    EXPECT_TRUE(settings.dev);
    EXPECT_FALSE(settings.subscriptions);
    EXPECT_DOUBLE_EQ(settings.ratio, 0.5);
    EXPECT_EQ(settings.rooms, (std::vector<std::string>{"lobby", "news"}));
}

TEST_F(TomlConfigTest, ABareValueIsInvalidToml) {
    const auto error = load("port = 9001\njwt-secret = abc\n");
    EXPECT_EQ(error.rfind(at(2, 14) + "invalid TOML: ", 0), 0U) << error;
}

TEST_F(TomlConfigTest, AnUnterminatedStringIsInvalidToml) {
    const auto error = load("jwt-secret = \"abc\nport = 1\n");
    EXPECT_EQ(error.rfind(path_ + ":1:", 0), 0U) << error;
    EXPECT_NE(error.find("invalid TOML"), std::string::npos) << error;
    EXPECT_TRUE(settings.secret.empty());
}

TEST_F(TomlConfigTest, AWrongTypeNamesTheKeyAndWhatItTakes) {
    // load() first: at() reads the path it sets.
    std::string error = load("port = \"9001\"\n");
    EXPECT_EQ(error, at(1, 8) + "port: expected an integer, not a string");
    error = load("dev = \"yes\"\n");
    EXPECT_EQ(error, at(1, 7) + "dev: expected true or false, not a string");
    error = load("jwt-secret = 5\n");
    EXPECT_EQ(error, at(1, 14) + "jwt-secret: expected a string (in double quotes), not an integer");
    error = load("anonymous-rooms = [1]\n");
    EXPECT_EQ(error, at(1, 19) + "anonymous-rooms: expected an array of strings, not an array");
    // The first mistake in the file is named, not the first key in sorted order.
    error = load("port = 1\nzeta = 1\nalpha = 2\n");
    EXPECT_EQ(error.rfind(at(2, 1) + "zeta: unknown setting", 0), 0U) << error;
}

TEST_F(TomlConfigTest, AnUnknownKeyIsNamedWithItsNearMiss) {
    std::string error = load("\nprot = 1\n");
    EXPECT_EQ(error, at(2, 1) + "prot: unknown setting (did you mean port?)");
    const auto far = load("colour = \"blue\"\n");
    EXPECT_EQ(far.rfind(at(1, 1) + "colour: unknown setting (settings are the long flags", 0), 0U)
        << far;
    error = load("[listen]\nport = 1\n");
    EXPECT_EQ(error, at(1, 2) + "[listen]: unknown section (settings are top-level keys, e.g. port = 8080)");
    error = load("check-config = true\n");
    EXPECT_EQ(error, at(1, 1) + "check-config: cannot be set in a config file (give it as a flag)");
}

TEST_F(TomlConfigTest, WhereRemembersEachKeysPosition) {
    CLI::App app{"test", "test"};
    auto reader = std::make_shared<TomlConfig>(app);
    std::istringstream text("\n  port = 1\n");
    unsigned short port = 0;
    app.add_option("--port", port);
    const auto items = reader->from_config(text);
    ASSERT_EQ(items.size(), 1U);
    EXPECT_EQ(items[0].name, "port");
    EXPECT_EQ(items[0].inputs, (std::vector<std::string>{"1"}));
    EXPECT_EQ(reader->where("port"), "config:2:10");
    EXPECT_EQ(reader->where("host"), std::nullopt);
}

}  // namespace
}  // namespace nudge::config
