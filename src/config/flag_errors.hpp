// What nudged and nudge-cdc print for a command line CLI11 refused: unknown flags with their near miss,
// and errors about a setting the --config file gave, with the file's line and column.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

#include "config/toml_config.hpp"

namespace nudge::config {

// One line "<program>: unknown flag --prot (did you mean --port?)" per long flag in argv that
// `app` does not declare; empty when every flag is known.
[[nodiscard]] std::string unknown_flags(const CLI::App& app, int argc, const char* const* argv,
                                        std::string_view program);

// `what` ("--port: ...") prefixed with "file:line:column: " when the setting came from the
// --config file rather than the command line.
[[nodiscard]] std::string locate(const std::string& what, const TomlConfig& file, int argc,
                                 const char* const* argv);

}  // namespace nudge::config
