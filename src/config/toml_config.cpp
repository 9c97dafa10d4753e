#include "config/toml_config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>
#include <utility>
#include <toml++/toml.h>

#include "common/near_miss.hpp"

namespace nudge::config {

namespace {

std::string position(const std::string& path, const toml::source_position& at) {
    return fmt::format("{}:{}:{}", path, at.line, at.column);
}

CLI::ConfigError error_at(const std::string& where, std::string_view key, std::string_view what) {
    return {fmt::format("{}: {}: {}", where, key, what), CLI::ExitCodes::ConfigError};
}

const char* toml_type(const toml::node& node) {
    switch (node.type()) {
        case toml::node_type::string: return "a string";
        case toml::node_type::integer: return "an integer";
        case toml::node_type::floating_point: return "a float";
        case toml::node_type::boolean: return "a boolean";
        case toml::node_type::array: return "an array";
        case toml::node_type::table: return "a table";
        default: return "a date or time";
    }
}

// The option's value as CLI11 takes it (text), or what the file should have written instead.
struct Converted {
    std::vector<std::string> inputs;
    std::string expected;  // non-empty: a type error, "<expected>, not <found>"
};

Converted convert(const CLI::Option& option, const toml::node& node) {
    if (option.get_expected_min() == 0) {  // a flag: CLI11 gives it no value of its own
        if (const auto* flag = node.as_boolean()) return {{flag->get() ? "true" : "false"}, {}};
        return {{}, "true or false"};
    }
    const std::string type = option.get_type_name();
    const bool several = option.get_items_expected_max() > 1;
    if (type.starts_with("INT") || type.starts_with("UINT")) {
        if (const auto* number = node.as_integer()) return {{std::to_string(number->get())}, {}};
        return {{}, "an integer"};
    }
    if (type.starts_with("FLOAT")) {
        if (const auto* number = node.as_integer()) return {{std::to_string(number->get())}, {}};
        if (const auto* number = node.as_floating_point()) {
            return {{fmt::format("{}", number->get())}, {}};
        }
        return {{}, "a number"};
    }
    if (const auto* text = node.as_string()) return {{text->get()}, {}};
    if (const auto* list = node.as_array(); list != nullptr && several) {
        Converted out;
        for (const auto& element : *list) {
            const auto* text = element.as_string();
            if (text == nullptr) return {{}, "an array of strings"};
            out.inputs.push_back(text->get());
        }
        return out;
    }
    return {{}, several ? "a string or an array of strings" : "a string (in double quotes)"};
}

}  // namespace

std::vector<std::string> long_names(const CLI::App& app, bool configurable_only) {
    std::vector<std::string> names;
    for (const CLI::Option* option : app.get_options()) {
        if (configurable_only && !option->get_configurable()) continue;
        for (const auto& name : option->get_lnames()) names.push_back("--" + name);
    }
    for (const CLI::App* group : app.get_subcommands(std::function<bool(const CLI::App*)>{})) {
        if (!group->get_name().empty()) continue;  // option groups are nameless subcommands
        auto more = long_names(*group, configurable_only);
        names.insert(names.end(), more.begin(), more.end());
    }
    return names;
}

std::vector<CLI::ConfigItem> TomlConfig::from_config(std::istream& input) const {
    const CLI::Option* config_option = app_.get_config_ptr();
    path_ = config_option != nullptr && config_option->count() > 0
                ? config_option->as<std::string>()
                : std::string("config");
    positions_.clear();
    std::ostringstream text;
    text << input.rdbuf();
    toml::table root;
    try {
        root = toml::parse(text.str(), path_);
    } catch (const toml::parse_error& error) {
        // toml++ words an unterminated string as the line end it found inside it.
        const bool in_string = error.description().find("parsing string") != std::string_view::npos;
        throw CLI::ConfigError(
            fmt::format("{}: invalid TOML: {} ({}settings look like port = 8080 or "
                        "jwt-secret = \"...\", text in double quotes)",
                        position(path_, error.source().begin), error.description(),
                        in_string ? "a string not closed on its line? " : ""),
            CLI::ExitCodes::ConfigError);
    }
    std::vector<std::string> keys;
    for (const auto& name : long_names(app_, true)) keys.push_back(name.substr(2));

    // toml++ iterates keys in sorted order; errors name the first in the file.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (const auto& [key, node] : root) entries.emplace_back(&key, &node);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        const auto& x = a.first->source().begin;
        const auto& y = b.first->source().begin;
        return x.line != y.line ? x.line < y.line : x.column < y.column;
    });
    std::vector<CLI::ConfigItem> read;
    for (const auto& [key_ptr, node_ptr] : entries) {
        const toml::key& key = *key_ptr;
        const toml::node& node = *node_ptr;
        const std::string name(key.str());
        const std::string where = position(path_, key.source().begin);
        if (node.is_table()) {
            throw error_at(where, "[" + name + "]",
                           "unknown section (settings are top-level keys, e.g. port = 8080)");
        }
        const CLI::Option* option = app_.get_option_no_throw("--" + name);
        if (option == nullptr || !option->get_configurable()) {
            const auto suggestion = near_miss(name, keys);
            throw error_at(where, name,
                           option != nullptr
                               ? std::string("cannot be set in a config file (give it as a flag)")
                           : suggestion
                               ? fmt::format("unknown setting (did you mean {}?)", *suggestion)
                               : std::string("unknown setting (settings are the long flags "
                                             "without the dashes, e.g. port = 8080; see --help)"));
        }
        auto converted = convert(*option, node);
        if (!converted.expected.empty()) {
            throw error_at(position(path_, node.source().begin), name,
                           fmt::format("expected {}, not {}", converted.expected, toml_type(node)));
        }
        positions_[name] = position(path_, node.source().begin);
        CLI::ConfigItem item;
        item.name = name;
        item.inputs = std::move(converted.inputs);
        read.push_back(std::move(item));
    }
    return read;
}

std::string TomlConfig::to_config(const CLI::App*, bool, bool, std::string) const {
    throw CLI::ConfigError("nudged does not write config files", CLI::ExitCodes::ConfigError);
}

std::optional<std::string> TomlConfig::where(const std::string& key) const {
    const auto found = positions_.find(key);
    if (found == positions_.end()) return std::nullopt;
    return found->second;
}

}  // namespace nudge::config
