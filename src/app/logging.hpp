// Logging setup for nudged: spdlog to stdout, human-readable or one JSON object per line.
#pragma once

#include "config/config.hpp"

namespace nudge::app {

void setup_logging(const config::Log& log);

}  // namespace nudge::app
