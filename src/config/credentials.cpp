#include "config/credentials.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

namespace nudge::config {

// Outside --dev, guessable credentials are refused at start (RFC 7518 §3.2: an HS256 key at
// least as long as the hash, 256 bits); --dev keeps accepting anything for local experiments.
void check_credentials(const Config& config) {
    constexpr std::string_view kWhere =
        "as a flag, in the environment (the systemd unit reads /etc/nudge/nudged.env, whose "
        "template is deploy/nudged.env) or in the --config file";
    const int token_keys = static_cast<int>(!config.jwt.secret.empty()) +
                           static_cast<int>(!config.jwt.public_key_pem.empty()) +
                           static_cast<int>(!config.jwks.source.empty());
    if (token_keys == 0) {
        throw CLI::ValidationError(
            "--jwt-secret",
            fmt::format("no key to verify client tokens: set --jwt-secret (NUDGE_JWT_SECRET) {}, "
                        "or --jwt-public-key or --jwt-jwks; make a secret with "
                        "`openssl rand -base64 48`, or run with --dev for local development",
                        kWhere));
    }
    if (token_keys > 1) {
        throw CLI::ValidationError(
            "auth", "set only one of --jwt-secret, --jwt-public-key and --jwt-jwks");
    }
    if (config.api.api_key.empty()) {
        throw CLI::ValidationError(
            "--api-key",
            fmt::format("required: backends authenticate with it; set --api-key (NUDGE_API_KEY) "
                        "{}; make one with `openssl rand -base64 32`, or run with --dev",
                        kWhere));
    }
    if (config.dev) return;
    if (!config.jwt.secret.empty() && config.jwt.secret.size() < kMinJwtSecretBytes) {
        throw CLI::ValidationError(
            "--jwt-secret",
            fmt::format("too short: {} bytes, an HS256 secret needs at least {} random bytes; "
                        "make one with `openssl rand -base64 48` (short values are accepted "
                        "only with --dev)",
                        config.jwt.secret.size(), kMinJwtSecretBytes));
    }
    if (config.api.api_key.size() < kMinApiKeyBytes) {
        throw CLI::ValidationError(
            "--api-key",
            fmt::format("too short: {} bytes, an API key needs at least {}; make one with "
                        "`openssl rand -base64 32` (short values are accepted only with --dev)",
                        config.api.api_key.size(), kMinApiKeyBytes));
    }
}

}  // namespace nudge::config
