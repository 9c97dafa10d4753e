// Config: every setting of nudged, one sub-struct per module with its defaults, filled from
// (highest precedence first) command-line flags, a TOML file given with --config, and NUDGE_*
// environment variables. Each module receives only its own part (see app/main.cpp).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "api/router.hpp"
#include "auth/jwt_verifier.hpp"
#include "broker/local_broker.hpp"
#include "net/jwks_refresher.hpp"
#include "net/server_context.hpp"
#include "redis/url.hpp"
#include "session/protocol.hpp"

namespace nudge::config {

struct Listen {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    unsigned threads = 0;  // 0: one per core
    // A separate listener for /metrics and /healthz; off unless metrics_port is set.
    std::string metrics_host = "127.0.0.1";
    std::optional<unsigned short> metrics_port;
};

struct Log {
    std::string level = "info";
    bool json = false;
};

struct Shutdown {
    // After SIGTERM/SIGINT, keep serving this long with /readyz answering 503 so load
    // balancers stop sending new clients before the remaining ones are closed.
    std::chrono::seconds drain{0};
};

struct Config {
    Listen listen;
    auth::JwtConfig jwt;
    session::Config session;
    api::Config api;
    net::Limits limits;
    net::Origins origins;
    broker::LocalBrokerConfig broker;          // recovery, history, idempotency: either broker
    std::optional<redis::Endpoint> redis;      // --broker redis://...; none: the embedded broker
    std::chrono::milliseconds broker_timeout{2000};
    std::string redis_emitter_prefix = "socket.io";  // @socket.io/redis-emitter's key; "": off
    std::size_t redis_max_backlog = 65536;            // events from Redis waiting for the workers
    std::size_t redis_max_commands_in_flight = 10000; // unanswered commands before 503 overloaded
    std::uint32_t refetch_rate = 0;  // --refetch-rate: origin requests/s per key; 0 = no derived spread
    Log log;
    Shutdown shutdown;
    net::SubscribeHookConfig subscribe_hook;  // --subscribe-hook (resolved by app/)
    net::JwksConfig jwks;                     // --jwt-jwks (loaded by app/)
    bool dev = false;           // development defaults for the secret and API key, printed at start
    bool check_config = false;  // validate, print summary(), exit
};

struct ParseOutcome {
    std::optional<Config> config;  // empty when the process should exit now
    int exit_code = 0;             // 0 for --help/--version, 2 for usage/config errors
};

// Parses flags, environment and config file (TOML, see toml_config.hpp), loads
// --jwt-public-key, applies --dev defaults and checks the result: a JWT key and an API key are
// required and, outside --dev, an HS256 secret of at least kMinJwtSecretBytes and an API key of
// at least kMinApiKeyBytes. Prints help and errors (each line starts with "nudged: ").
[[nodiscard]] ParseOutcome parse(int argc, const char* const* argv);

// What --check-config prints: the effective settings, secrets by length only, and warnings
// (a development-mode config, an HS256 secret shorter than RFC 7518 §3.2's 256 bits).
[[nodiscard]] std::string summary(const Config& config);

// RFC 7518 §3.2: an HS256 key at least as long as the hash output (256 bits).
inline constexpr std::size_t kMinJwtSecretBytes = 32;
// 128 bits: out of reach of guessing through the publish API (which also backs off, see
// --api-auth-backoff).
inline constexpr std::size_t kMinApiKeyBytes = 16;

inline constexpr std::string_view kDevSecret = "nudge-dev-secret-do-not-use-in-production";
inline constexpr std::string_view kDevApiKey = "nudge-dev-api-key";

}  // namespace nudge::config
