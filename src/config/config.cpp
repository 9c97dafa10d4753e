#include "config/config.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/ip/address.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

#include "config/credentials.hpp"
#include "config/flag_errors.hpp"
#include "config/toml_config.hpp"
#include "metrics/metrics.hpp"

namespace nudge::config {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw CLI::ValidationError("--jwt-public-key", "cannot read " + path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

ParseOutcome parse(int argc, const char* const* argv) {
    Config config;
    CLI::App app{
        "nudged: a Socket.IO-compatible hub that tells browsers when to refetch.\n"
        "Clients connect with socket.io-client and a JWT; backends publish with POST /api/v1/emit.\n"
        "Every flag can also be set as NUDGE_<FLAG> (e.g. NUDGE_API_KEY) or in a TOML --config file.",
        "nudged"};
    app.set_config("--config", "", "TOML file with settings named like the long flags (port = 8080)");
    // A real TOML parser: syntax errors, wrong types and unknown keys name file:line:column.
    auto toml_file = std::make_shared<TomlConfig>(app);
    app.config_formatter(toml_file);
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.set_version_flag("--version", "nudged " NUDGE_VERSION);
    // A flag given twice takes the last value, so wrappers can append overrides.
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

    std::string public_key_file;
    std::string issuer;
    std::string audience;
    unsigned ping_interval_ms = 25000;
    unsigned ping_timeout_ms = 20000;
    unsigned connect_timeout_ms = 10000;
    unsigned http_idle_timeout_s = 30;
    unsigned close_timeout_ms = 5000;
    unsigned slow_consumer_timeout_ms = 10000;
    std::size_t high_watermark = 0;  // 0: derived from --max-send-queue
    std::size_t low_watermark = 0;
    unsigned jwt_leeway_s = 30;
    int metrics_port = -1;
    unsigned auth_backoff_s = 60;
    unsigned drain_s = 0;
    unsigned granted_rooms_ttl_s = 0;
    unsigned hook_timeout_ms = 2000;
    unsigned jwks_refresh_s = 300;
    unsigned jwks_min_refresh_s = 10;
    unsigned hook_cache_ttl_s = 60;
    std::string recovery = "auto";
    std::string broker = "local";
    int broker_timeout_ms = 2000;
    unsigned history_ttl_s = 120;
    unsigned idempotency_window_s = 300;

    auto* listen = app.add_option_group("listen");
    listen->add_option("--host", config.listen.host, "address to listen on")
        ->envname("NUDGE_HOST")->capture_default_str();
    listen->add_option("--port", config.listen.port, "port to listen on (0: any free port)")
        ->envname("NUDGE_PORT")->capture_default_str();
    listen->add_option("--threads", config.listen.threads, "worker threads (0: one per core)")
        ->envname("NUDGE_THREADS")->capture_default_str()
        ->check(CLI::Range(0U, static_cast<unsigned>(metrics::kWorkerSlots)));
    listen->add_option("--metrics-host", config.listen.metrics_host,
                       "address of the metrics listener (with --metrics-port)")
        ->envname("NUDGE_METRICS_HOST")->capture_default_str();
    listen->add_option("--metrics-port", metrics_port,
                       "serve /metrics (and /healthz) on this port only (0: any free port); "
                       "the main listener then answers /metrics with 404")
        ->envname("NUDGE_METRICS_PORT")->check(CLI::Range(0, 65535));

    auto* auth = app.add_option_group("auth");
    auth->add_option("--jwt-secret", config.jwt.secret, "HS256 secret for client tokens")
        ->envname("NUDGE_JWT_SECRET");
    auth->add_option("--jwt-public-key", public_key_file, "PEM public key file (RS256 or ES256)")
        ->envname("NUDGE_JWT_PUBLIC_KEY");
    auth->add_option("--jwt-jwks", config.jwks.source,
                     "JWKS file or http(s):// URL of the identity provider's keys (RS256, ES256, "
                     "EdDSA by kid); https certificates are verified, redirects not followed; "
                     "token header jku/x5u are never fetched")
        ->envname("NUDGE_JWT_JWKS");
    auth->add_option("--jwt-jwks-ca", config.jwks.ca_file,
                     "PEM CA bundle trusted for an https --jwt-jwks instead of the system's CA store")
        ->envname("NUDGE_JWT_JWKS_CA")->check(CLI::ExistingFile);
    auth->add_option("--jwt-jwks-refresh", jwks_refresh_s, "seconds between scheduled JWKS fetches")
        ->envname("NUDGE_JWT_JWKS_REFRESH")->capture_default_str()->check(CLI::Range(1, 86400));
    auth->add_option("--jwt-jwks-min-refresh", jwks_min_refresh_s,
                     "at most one JWKS fetch per this many seconds, also when tokens name unknown kids")
        ->envname("NUDGE_JWT_JWKS_MIN_REFRESH")->capture_default_str()->check(CLI::Range(0, 86400));
    auth->add_option("--jwt-issuer", issuer, "required iss claim")->envname("NUDGE_JWT_ISSUER");
    auth->add_option("--jwt-audience", audience, "required aud claim")->envname("NUDGE_JWT_AUDIENCE");
    auth->add_option("--jwt-user-claim", config.jwt.user_claim, "claim holding the user id")
        ->envname("NUDGE_JWT_USER_CLAIM")->capture_default_str();
    auth->add_option("--jwt-leeway", jwt_leeway_s,
                     "seconds of clock skew allowed on exp/nbf; sessions close at exp + leeway")
        ->envname("NUDGE_JWT_LEEWAY")->capture_default_str()->check(CLI::Range(0, 3600));
    auth->add_option("--user-room", config.session.user_room,
                     "room every user joins; {id} is the user id")
        ->envname("NUDGE_USER_ROOM")->capture_default_str();

    auth->add_flag("--client-subscriptions,!--no-client-subscriptions",
                   config.session.client_subscriptions,
                   "let clients join rooms with nudge:subscribe, given a subscription token "
                   "(a JWT with sub and room, signed like connection tokens) or the hook's yes; "
                   "off, sessions keep no copy of the user id")
        ->envname("NUDGE_CLIENT_SUBSCRIPTIONS")->capture_default_str();
    auth->add_option("--subscribe-hook", config.subscribe_hook.url,
                     "http:// URL the hub POSTs {\"user\",\"room\"} to for a nudge:subscribe "
                     "without a token; 200 joins, 4xx refuses")
        ->envname("NUDGE_SUBSCRIBE_HOOK");
    auth->add_option("--subscribe-hook-timeout", hook_timeout_ms,
                     "ms the hook has to answer before the subscription is refused (hook_timeout)")
        ->envname("NUDGE_SUBSCRIBE_HOOK_TIMEOUT")->capture_default_str()->check(CLI::Range(10, 600000));
    auth->add_option("--subscribe-hook-cache-ttl", hook_cache_ttl_s,
                     "seconds a hook's 200 for a (user, room) is reused without asking (0: never)")
        ->envname("NUDGE_SUBSCRIBE_HOOK_CACHE_TTL")->capture_default_str()->check(CLI::Range(0, 86400));
    auth->add_option("--subscribe-hook-max-pending", config.subscribe_hook.max_pending,
                     "hook requests in flight per worker; past it subscriptions are refused (busy)")
        ->envname("NUDGE_SUBSCRIBE_HOOK_MAX_PENDING")->capture_default_str()->check(CLI::Range(1, 1000000));
    auth->add_option("--subscribe-hook-max-per-user", config.subscribe_hook.max_per_user,
                     "hook requests running or waiting per user, per worker; past it that user's "
                     "subscriptions are refused (busy)")
        ->envname("NUDGE_SUBSCRIBE_HOOK_MAX_PER_USER")->capture_default_str()->check(CLI::Range(1, 1000000));
    auth->add_option("--subscribe-hook-max-queued", config.subscribe_hook.max_queued,
                     "hook requests waiting for a free slot per worker (served to users in turn)")
        ->envname("NUDGE_SUBSCRIBE_HOOK_MAX_QUEUED")->capture_default_str()->check(CLI::Range(0, 1000000));

    auto* api = app.add_option_group("api");
    api->add_option("--api-key", config.api.api_key, "key backends send as 'Authorization: Bearer <key>'")
        ->envname("NUDGE_API_KEY");
    api->add_option("--max-body", config.api.max_body, "largest publish body in bytes")
        ->envname("NUDGE_MAX_BODY")->capture_default_str()->check(CLI::Range(64, 64 * 1024 * 1024));
    api->add_option("--max-batch", config.api.limits.max_events, "most events in one publish batch")
        ->envname("NUDGE_MAX_BATCH")->capture_default_str()->check(CLI::Range(1, 100000));
    api->add_option("--api-auth-backoff", config.api.auth_failures.backoff_failures,
                    "after this many wrong API keys from one address within "
                    "--api-auth-backoff-seconds, answer it 429 for that long (0: off)")
        ->envname("NUDGE_API_AUTH_BACKOFF")->capture_default_str()->check(CLI::Range(0, 1000000));
    api->add_option("--api-auth-backoff-seconds", auth_backoff_s,
                    "window and duration of the API key backoff")
        ->envname("NUDGE_API_AUTH_BACKOFF_SECONDS")->capture_default_str()->check(CLI::Range(1, 86400));

    auto* engine = app.add_option_group("engine.io");
    engine->add_flag("--allow-anonymous", config.session.allow_anonymous,
                     "let a CONNECT without a token in, with no user room and only --anonymous-rooms")
        ->envname("NUDGE_ALLOW_ANONYMOUS");
    engine->add_option("--anonymous-rooms", config.session.anonymous_rooms,
                       "comma-separated rooms an anonymous client joins (with --allow-anonymous)")
        ->envname("NUDGE_ANONYMOUS_ROOMS")->delimiter(',');
    engine->add_option("--allowed-origins", config.origins.allowed,
                       "comma-separated browser origins (https://app.example.com) that get CORS "
                       "headers on HTTP long-polling; when set, other origins are refused "
                       "(default: no CORS headers, any origin for WebSocket)")
        ->envname("NUDGE_ALLOWED_ORIGINS")->delimiter(',');
    engine->add_option("--ping-interval", ping_interval_ms, "ms between server pings")
        ->envname("NUDGE_PING_INTERVAL")->capture_default_str()->check(CLI::Range(100, 3600000));
    engine->add_option("--ping-timeout", ping_timeout_ms, "ms a client has to answer a ping")
        ->envname("NUDGE_PING_TIMEOUT")->capture_default_str()->check(CLI::Range(100, 3600000));
    engine->add_option("--connect-timeout", connect_timeout_ms,
                       "ms a client has to send CONNECT (a session that never does is cheap to open)")
        ->envname("NUDGE_CONNECT_TIMEOUT")->capture_default_str()->check(CLI::Range(100, 3600000));
    engine->add_option("--max-payload", config.session.max_payload, "largest client message in bytes")
        ->envname("NUDGE_MAX_PAYLOAD")->capture_default_str()->check(CLI::Range(1024, 100000000));
    engine->add_option("--max-send-queue", config.limits.max_send_queue_bytes,
                       "bytes queued to one client before it is dropped as a slow consumer")
        ->envname("NUDGE_MAX_SEND_QUEUE")->capture_default_str()->check(CLI::Range(1024, 1 << 30));
    engine->add_option("--send-queue-high-watermark", high_watermark,
                       "queued bytes above which the hub stops reading from that client (default: a quarter of --max-send-queue)")
        ->envname("NUDGE_SEND_QUEUE_HIGH_WATERMARK")->check(CLI::Range(512, 1 << 30));
    engine->add_option("--send-queue-low-watermark", low_watermark,
                       "queued bytes under which the hub reads from a paused client again (default: a quarter of the high watermark)")
        ->envname("NUDGE_SEND_QUEUE_LOW_WATERMARK")->check(CLI::Range(0, 1 << 30));
    engine->add_option("--max-unauthenticated-payload", config.limits.max_unauthenticated_message,
                       "largest client message in bytes before its CONNECT is accepted")
        ->envname("NUDGE_MAX_UNAUTHENTICATED_PAYLOAD")->capture_default_str()->check(CLI::Range(1024, 100000000));
    engine->add_option("--max-partial-bytes", config.limits.max_partial_bytes,
                       "bytes of partially received messages held for all clients together")
        ->envname("NUDGE_MAX_PARTIAL_BYTES")->capture_default_str()->check(CLI::Range(std::size_t{65536}, std::size_t{1} << 40));
    engine->add_option("--slow-consumer-timeout", slow_consumer_timeout_ms,
                       "ms a client may stay above the high watermark before it is dropped")
        ->envname("NUDGE_SLOW_CONSUMER_TIMEOUT")->capture_default_str()->check(CLI::Range(10, 3600000));
    engine->add_option("--close-timeout", close_timeout_ms,
                       "ms a closing client has to take its close frame before TCP is cut")
        ->envname("NUDGE_CLOSE_TIMEOUT")->capture_default_str()->check(CLI::Range(10, 600000));
    engine->add_option("--max-connections-per-ip", config.limits.admission.max_connections_per_ip,
                       "open connections allowed from one source address (0: no limit)")
        ->envname("NUDGE_MAX_CONNECTIONS_PER_IP")->capture_default_str();
    engine->add_option("--max-polling-sessions", config.limits.max_polling_sessions,
                       "HTTP long-polling sessions open at once (past it a polling handshake gets 503)")
        ->envname("NUDGE_MAX_POLLING_SESSIONS")->capture_default_str()->check(CLI::Range(1, 100000000));
    engine->add_option("--max-connect-rate", config.limits.admission.max_connect_rate,
                       "new connections accepted per second, whole process (0: no limit)")
        ->envname("NUDGE_MAX_CONNECT_RATE")->capture_default_str();
    engine->add_option("--max-pending-batches", config.limits.max_pending_batches,
                       "publish batches waiting for fan-out before the API answers 503")
        ->envname("NUDGE_MAX_PENDING_BATCHES")->capture_default_str()->check(CLI::Range(1, 1 << 24));
    api->add_option("--granted-rooms-ttl", granted_rooms_ttl_s,
                    "seconds the hub remembers rooms joined through POST /api/v1/rooms/join and "
                    "re-applies them to sockets of the same rooms that (re)connect (0: off; the "
                    "membership then lasts as long as the socket)")
        ->envname("NUDGE_GRANTED_ROOMS_TTL")->capture_default_str()->check(CLI::Range(0, 30 * 86400));
    api->add_option("--max-granted-rooms", config.limits.max_granted_rooms,
                    "most (room, granted room) pairs remembered by --granted-rooms-ttl")
        ->envname("NUDGE_MAX_GRANTED_ROOMS")->capture_default_str()->check(CLI::Range(1, 100000000));
    api->add_option("--max-granted-rooms-per-room", config.limits.max_granted_rooms_per_room,
                    "most rooms remembered by --granted-rooms-ttl as granted to the sockets of one "
                    "room (a CONNECT joins at most this many per room of its token)")
        ->envname("NUDGE_MAX_GRANTED_ROOMS_PER_ROOM")->capture_default_str()->check(CLI::Range(1, 10000000));
    engine->add_option("--http-idle-timeout", http_idle_timeout_s, "seconds an idle HTTP connection is kept")
        ->envname("NUDGE_HTTP_IDLE_TIMEOUT")->capture_default_str()->check(CLI::Range(1, 3600));

    auto* delivery = app.add_option_group("delivery");
    delivery->add_option("--broker", broker,
                         "where events go between hubs: local (embedded, one hub) or "
                         "redis://[user:password@]host:port[/db] (several hubs share rooms, history "
                         "and idempotency ids; a Redis Cluster is detected from any of its nodes)")
        ->envname("NUDGE_BROKER")->capture_default_str();
    delivery->add_option("--broker-timeout", broker_timeout_ms,
                         "milliseconds a Redis connect may take, and a link may stay silent while commands "
                         "wait for replies, before the link counts as down")
        ->envname("NUDGE_BROKER_TIMEOUT")->capture_default_str()->check(CLI::Range(50, 600000));
    delivery->add_option("--redis-max-backlog", config.redis_max_backlog,
                         "events from Redis waiting for the hub's workers before the hub stops "
                         "reading Redis (Redis' client-output-buffer-limit pubsub then applies; a "
                         "link it cuts off is re-established and its rooms get nudge:resync)")
        ->envname("NUDGE_REDIS_MAX_BACKLOG")->capture_default_str()->check(CLI::Range(1, 100000000));
    delivery->add_option("--redis-max-commands-in-flight", config.redis_max_commands_in_flight,
                         "Redis commands sent and not yet answered before the publish API answers "
                         "503 overloaded (with Retry-After)")
        ->envname("NUDGE_REDIS_MAX_COMMANDS_IN_FLIGHT")->capture_default_str()->check(CLI::Range(1, 100000000));
    delivery->add_option("--redis-emitter-prefix", config.redis_emitter_prefix,
                         "with a Redis broker, also deliver what @socket.io/redis-emitter publishes "
                         "with this key prefix (its `key` option); empty: do not listen")
        ->envname("NUDGE_REDIS_EMITTER_PREFIX")->capture_default_str();
    delivery->add_option("--recovery", recovery,
                         "connection-state recovery (events carry their offset as last argument, a "
                         "reconnecting client gets what it missed): auto = only for clients that ask "
                         "in their CONNECT auth (recovery: true, or nudge: 1 as @nudge/react-query "
                         "sends), so plain socket.io-client and python-socketio code sees no offsets "
                         "and no pid; on = for every client (python-socketio handlers then need "
                         "*args); off = for nobody, no history kept. See docs/delivery.md")
        ->envname("NUDGE_RECOVERY")->capture_default_str()->check(CLI::IsMember({"auto", "on", "off"}));
    delivery->add_option("--refetch-rate", config.refetch_rate,
                         "requests per second your API can take for one key: events to a room are "
                         "sent to @nudge/react-query clients with a spread window of members / rate "
                         "seconds (at most 60), so their refetches arrive spread out instead of at "
                         "once; members are this hub's (with N hubs, give the origin's rate / N); "
                         "0 = off. See docs/protecting-your-api.md")
        ->envname("NUDGE_REFETCH_RATE")->capture_default_str()->check(CLI::Range(0, 100000000));
    delivery->add_option("--history-size", config.broker.history.max_per_room,
                         "events kept per room for recovery")
        ->envname("NUDGE_HISTORY_SIZE")->capture_default_str()->check(CLI::Range(1, 10000000));
    delivery->add_option("--history-ttl", history_ttl_s,
                         "seconds events are kept for recovery: how long a client may be away")
        ->envname("NUDGE_HISTORY_TTL")->capture_default_str()->check(CLI::Range(1, 86400));
    delivery->add_option("--max-replay", config.broker.history.max_replay,
                         "most events replayed to one reconnecting client; past it the client "
                         "gets recovered=false and a nudge:resync event instead")
        ->envname("NUDGE_MAX_REPLAY")->capture_default_str()->check(CLI::Range(0, 10000000));
    delivery->add_option("--state-dir", config.broker.state_dir,
                         "directory where the embedded broker saves its recovery history at a "
                         "graceful stop and reloads it at start, so clients recover across a "
                         "restart (empty: a restart starts a new history; see docs/delivery.md)")
        ->envname("NUDGE_STATE_DIR");
    delivery->add_option("--idempotency-window", idempotency_window_s,
                         "seconds an event id is remembered: a retry with the same id is not delivered again")
        ->envname("NUDGE_IDEMPOTENCY_WINDOW")->capture_default_str()->check(CLI::Range(1, 86400));
    delivery->add_option("--idempotency-max-entries", config.broker.idempotency_max_entries,
                         "event ids remembered at most (the oldest are forgotten first)")
        ->envname("NUDGE_IDEMPOTENCY_MAX_ENTRIES")->capture_default_str()->check(CLI::Range(1, 100000000));

    auto* log = app.add_option_group("log");
    log->add_option("--log-level", config.log.level, "trace, debug, info, warn, error")
        ->envname("NUDGE_LOG_LEVEL")->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    log->add_flag("--log-json", config.log.json, "log one JSON object per line")->envname("NUDGE_LOG_JSON");
    app.add_option("--drain-seconds", drain_s,
                   "after SIGTERM, keep serving this long with /readyz answering 503 before "
                   "closing clients (a second signal stops at once)")
        ->envname("NUDGE_DRAIN_SECONDS")->capture_default_str()->check(CLI::Range(0, 3600));
    app.add_flag("--check-config", config.check_config,
                 "validate the configuration (flags, environment, --config file, key files), "
                 "print a summary and exit: 0 when valid, 2 with the reason when not")
        ->configurable(false);
    app.add_flag("--dev", config.dev,
                 "development mode: default JWT secret and API key (printed), never for production")
        ->envname("NUDGE_DEV");

    try {
        app.parse(argc, argv);
        boost::system::error_code bad_host;
        (void)boost::asio::ip::make_address(config.listen.host, bad_host);
        if (bad_host) {
            throw CLI::ValidationError("--host", "not an IP address: " + config.listen.host);
        }
        if (!public_key_file.empty()) config.jwt.public_key_pem = read_file(public_key_file);
        if (config.dev) {
            if (config.jwt.secret.empty() && config.jwt.public_key_pem.empty() &&
                config.jwks.source.empty()) {
                config.jwt.secret = kDevSecret;
            }
            if (config.api.api_key.empty()) config.api.api_key = kDevApiKey;
        }
        check_credentials(config);
        if (!config.jwks.ca_file.empty() && !config.jwks.source.starts_with("https://")) {
            throw CLI::ValidationError("--jwt-jwks-ca", "applies only to an https:// --jwt-jwks");
        }
    } catch (const CLI::ConfigError& e) {
        // TomlConfig's messages start with file:line:column.
        std::cerr << "nudged: " << e.what() << "\n";
        return ParseOutcome{std::nullopt, 2};
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            return ParseOutcome{std::nullopt, app.exit(e)};  // --help, --version
        }
        // An unknown flag is named with its near miss; CLI11's own words for it ("arguments
        // were not expected: 18080 --prot") would point at the value too.
        if (const auto unknown = unknown_flags(app, argc, argv, "nudged"); !unknown.empty()) {
            std::cerr << unknown << "run 'nudged --help' for the flags\n";
        } else {
            std::cerr << "nudged: " << locate(e.what(), *toml_file, argc, argv)
                      << "\nrun 'nudged --help' for the flags\n";
        }
        return ParseOutcome{std::nullopt, 2};
    }
    if (!issuer.empty()) config.jwt.issuer = issuer;
    if (!audience.empty()) config.jwt.audience = audience;
    config.session.ping_interval = std::chrono::milliseconds(ping_interval_ms);
    config.session.ping_timeout = std::chrono::milliseconds(ping_timeout_ms);
    config.session.connect_timeout = std::chrono::milliseconds(connect_timeout_ms);
    config.limits.http_idle_timeout = std::chrono::seconds(http_idle_timeout_s);
    config.limits.close_timeout = std::chrono::milliseconds(close_timeout_ms);
    config.limits.slow_consumer_timeout = std::chrono::milliseconds(slow_consumer_timeout_ms);
    config.limits.send_queue_high_watermark =
        high_watermark != 0 ? high_watermark : config.limits.max_send_queue_bytes / 4;
    config.limits.send_queue_low_watermark =
        low_watermark != 0 ? low_watermark : config.limits.send_queue_high_watermark / 4;
    if (config.limits.send_queue_high_watermark > config.limits.max_send_queue_bytes ||
        config.limits.send_queue_low_watermark > config.limits.send_queue_high_watermark) {
        std::cerr << "nudged: need --send-queue-low-watermark <= --send-queue-high-watermark <= "
                     "--max-send-queue\n";
        return ParseOutcome{std::nullopt, 2};
    }
    config.jwt.leeway = std::chrono::seconds(jwt_leeway_s);
    config.api.auth_failures.backoff_window = std::chrono::seconds(auth_backoff_s);
    if (metrics_port >= 0) {
        config.listen.metrics_port = static_cast<unsigned short>(metrics_port);
        config.api.metrics_elsewhere = true;
    }
    config.shutdown.drain = std::chrono::seconds(drain_s);
    config.limits.granted_rooms_ttl = std::chrono::seconds(granted_rooms_ttl_s);
    config.jwks.refresh = std::chrono::seconds(jwks_refresh_s);
    config.jwks.min_refresh = std::chrono::seconds(jwks_min_refresh_s);
    config.subscribe_hook.timeout = std::chrono::milliseconds(hook_timeout_ms);
    config.subscribe_hook.cache_ttl = std::chrono::seconds(hook_cache_ttl_s);
    if (!config.subscribe_hook.url.empty() && !config.session.client_subscriptions) {
        std::cerr << "nudged: --subscribe-hook needs client subscriptions (drop --no-client-subscriptions)\n";
        return ParseOutcome{std::nullopt, 2};
    }
    config.session.subscribe_hook = !config.subscribe_hook.url.empty();
    // auto and on keep history (numbered events, offsets); on also gives every session offsets
    // and a pid, auto only the sessions that ask (session::Config::recovery_for_all).
    config.broker.recovery = recovery != "off";
    config.session.recovery = config.broker.recovery;
    config.session.recovery_for_all = recovery == "on";
    config.api.recovery = config.broker.recovery;
    config.broker.history.ttl = std::chrono::seconds(history_ttl_s);
    config.broker.history.tombstone_ttl = config.broker.history.ttl * 10;
    config.broker.idempotency_window = std::chrono::seconds(idempotency_window_s);
    config.broker_timeout = std::chrono::milliseconds(broker_timeout_ms);
    if (broker != "local") {
        auto endpoint = redis::parse_url(broker);
        if (!endpoint) {
            std::cerr << "nudged: --broker: " << endpoint.error() << " (expected local or redis://host:port)\n";
            return ParseOutcome{std::nullopt, 2};
        }
        config.redis = std::move(*endpoint);
        // Each session's CONNECT is answered once Redis has confirmed its rooms' subscriptions.
        config.session.broker_confirms_connect = true;
    }
    return ParseOutcome{std::move(config), 0};
}

std::string summary(const Config& config) {
    std::string out = "nudged: configuration OK\n";
    auto line = [&out](std::string_view key, const auto& value) {
        fmt::format_to(std::back_inserter(out), "  {:<16}{}\n", key, value);
    };
    line("listen", fmt::format("{}:{} threads={}", config.listen.host, config.listen.port,
                               config.listen.threads == 0 ? std::string("auto")
                                                          : std::to_string(config.listen.threads)));
    const auto& jwt = config.jwt;
    line("client tokens",
         !config.jwks.source.empty()
             ? "JWKS " + config.jwks.source +
                   (config.jwks.ca_file.empty() ? "" : " (CA " + config.jwks.ca_file + ")")
         : jwt.public_key_pem.empty() ? fmt::format("HS256 secret ({} bytes)", jwt.secret.size())
                                      : std::string("RS256/ES256 public key"));
    line("token claims", fmt::format("user={} issuer={} audience={}", jwt.user_claim,
                                     jwt.issuer.value_or("(any)"), jwt.audience.value_or("(any)")));
    line("user room", config.session.user_room);
    line("anonymous", config.session.allow_anonymous
                          ? fmt::format("allowed rooms=[{}]", fmt::join(config.session.anonymous_rooms, ","))
                          : std::string("refused"));
    line("allowed origins", config.origins.allowed.empty()
                                ? std::string("(any for WebSocket, no CORS)")
                                : fmt::format("{}", fmt::join(config.origins.allowed, ",")));
    line("api key", fmt::format("set ({} bytes)", config.api.api_key.size()));
    line("publish limits", fmt::format("body={} B batch={} pending batches={}", config.api.max_body,
                                       config.api.limits.max_events,
                                       config.limits.max_pending_batches));
    line("client limits",
         fmt::format("payload={} B send queue={} B", config.session.max_payload,
                     config.limits.max_send_queue_bytes));
    line("timeouts", fmt::format("ping={}ms/{}ms connect={}ms http idle={}s",
                                 config.session.ping_interval.count(),
                                 config.session.ping_timeout.count(),
                                 config.session.connect_timeout.count(),
                                 config.limits.http_idle_timeout.count()));
    line("broker", config.redis ? redis::redact(*config.redis) : std::string("local"));
    line("recovery", config.broker.recovery
                         ? fmt::format("{} history={}/room ttl={}s max replay={}",
                                       config.session.recovery_for_all ? "on" : "auto",
                                       config.broker.history.max_per_room,
                                       std::chrono::duration_cast<std::chrono::seconds>(
                                           config.broker.history.ttl).count(),
                                       config.broker.history.max_replay)
                         : std::string("off"));
    line("state dir", config.broker.state_dir.empty() ? std::string("(none: a restart starts a new history)")
                      : config.redis ? config.broker.state_dir + " (unused: the Redis broker keeps its history)"
                                     : config.broker.state_dir);
    line("idempotency", fmt::format("window={}s max ids={}",
                                    std::chrono::duration_cast<std::chrono::seconds>(
                                        config.broker.idempotency_window).count(),
                                    config.broker.idempotency_max_entries));
    line("shutdown", fmt::format("drain {}s", config.shutdown.drain.count()));
    line("log", fmt::format("level={}{}", config.log.level, config.log.json ? " json" : ""));
    if (config.dev) {
        out += "warning: --dev is set: development defaults, never for production\n";
    }
    // RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits).
    if (config.jwt.public_key_pem.empty() && config.jwks.source.empty() && config.jwt.secret.size() < kMinJwtSecretBytes) {
        out += fmt::format("warning: the JWT secret is {} bytes; use at least 32 random bytes\n",
                           config.jwt.secret.size());
    }
    return out;
}

}  // namespace nudge::config
