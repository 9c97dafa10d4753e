// TomlConfig: CLI11's config-file reader replaced by a real TOML parser (toml++).
//
// Every long flag declared on the CLI::App is a top-level key of the file (`port = 8080`,
// `jwt-secret = "..."`), so options added the usual CLI11 way are read from the file with no
// second list of keys. The file must be valid TOML and each value must have the option's type:
// a flag takes a boolean, a number option an integer (or a float where the option is one), a
// text option a string (or an array of strings where it takes several). Anything else — a
// syntax error, a wrong type, an unknown key or a [table] — is a CLI::ConfigError whose message
// starts with `file:line:column:` and names the key.
//
// The reader keeps where each key was written, so errors CLI11 raises later (a value out of
// range) can be pointed at the file too (`where`). It holds a reference to the App it reads
// for: the App must outlive it (App::config_formatter keeps it alive as long as the App).
#pragma once

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nudge::config {

class TomlConfig : public CLI::Config {
public:
    explicit TomlConfig(const CLI::App& app) : app_(app) {}

    [[nodiscard]] std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
    // Writing a config file back (CLI11's --write-config) is not offered.
    [[nodiscard]] std::string to_config(const CLI::App*, bool, bool, std::string) const override;

    // "file:line:column" of `key` in the last file read; empty when the file did not set it.
    [[nodiscard]] std::optional<std::string> where(const std::string& key) const;

private:
    const CLI::App& app_;
    // from_config is const in CLI11's interface; the positions are a record of that read.
    mutable std::string path_;
    mutable std::map<std::string, std::string, std::less<>> positions_;
};

// Every long option name of `app` and its option groups, with the dashes ("--port").
[[nodiscard]] std::vector<std::string> long_names(const CLI::App& app, bool configurable_only);

}  // namespace nudge::config
