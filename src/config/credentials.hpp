// check_credentials: the keys nudged starts with are present and, outside --dev, not guessable.
#pragma once

#include "config/config.hpp"

namespace nudge::config {

// Throws CLI::ValidationError naming the setting, where to set it and how to make a good value.
void check_credentials(const Config& config);

}  // namespace nudge::config
