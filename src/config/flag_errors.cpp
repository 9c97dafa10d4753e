#include "config/flag_errors.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/near_miss.hpp"

namespace nudge::config {

// "unknown flag --prot (did you mean --port?)" for each long flag the app does not declare.
std::string unknown_flags(const CLI::App& app, int argc, const char* const* argv,
                          std::string_view program) {
    const auto names = long_names(app, false);
    std::string out;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--") break;
        if (!arg.starts_with("--")) continue;
        arg = arg.substr(0, arg.find('='));
        if (std::find(names.begin(), names.end(), arg) != names.end()) continue;
        const auto suggestion = near_miss(arg, names);
        out += fmt::format("{}: unknown flag {}{}\n", program, arg,
                           suggestion ? fmt::format(" (did you mean {}?)", *suggestion) : "");
    }
    return out;
}

namespace {

bool given_on_command_line(std::string_view key, int argc, const char* const* argv) {
    const std::string flag = fmt::format("--{}", key);
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == flag || arg.starts_with(flag + "=")) return true;
    }
    return false;
}

}  // namespace

// A CLI11 error about a setting the --config file gave names the file's line and column.
std::string locate(const std::string& what, const TomlConfig& file, int argc,
                   const char* const* argv) {
    if (!what.starts_with("--")) return what;
    const std::string key = what.substr(2, what.find_first_of(": ") - 2);
    if (given_on_command_line(key, argc, argv)) return what;
    const auto where = file.where(key);
    return where ? fmt::format("{}: {}", *where, what) : what;
}

}  // namespace nudge::config
