// nudged: wiring only. Parse the config, build the modules with their own parts of it, serve
// until SIGTERM/SIGINT, drain for --drain-seconds (/readyz answers 503, everything else keeps
// serving; a second signal ends the drain), then close every client with a WebSocket close
// 1001 and exit within 5 s; with --state-dir the embedded broker saves its state then (and
// reloads it at the next start). --check-config validates the configuration and exits instead.
#include <malloc.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>
#include <utility>

#include "api/router.hpp"
#include "app/broker_state.hpp"
#include "app/logging.hpp"
#include "auth/jwt_verifier.hpp"
#include "broker/local_broker.hpp"
#include "broker/redis_broker.hpp"
#include "broker/state_store.hpp"
#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "net/jwks_refresher.hpp"
#include "net/server.hpp"

namespace {

using namespace nudge;

// Sockets are file descriptors: lift the soft limit to the hard one.
void raise_fd_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    getrlimit(RLIMIT_NOFILE, &limit);
    spdlog::info("file descriptor limit={}", limit.rlim_cur);
}

void label_metrics() {
    auto& registry = metrics::registry();
    metrics::label_enum<auth::AuthError>(registry.auth_failures, auth::reason);
    metrics::label_enum<session::CloseReason>(registry.disconnects, session::to_string);
    metrics::label_enum<hub::RoomOpKind>(registry.room_ops, hub::to_string);
    metrics::label_enum<hub::RoomOpKind>(registry.room_op_sockets, hub::to_string);
    metrics::label_enum<session::SubscribeOutcome>(registry.subscriptions, session::outcome_name);
}

// Why a listener could not open, and what to do, without Boost's source location (e.what()).
std::string listen_error(std::string_view what, std::string_view flag, const std::string& host,
                         unsigned short port, const boost::system::error_code& error) {
    std::string text =
        fmt::format("nudged: cannot listen on {}:{}{}: {}\n", host, port, what, error.message());
    if (error == boost::asio::error::address_in_use) {
        text += fmt::format(
            "nudged: another program already listens on port {} (often a nudged from `make run` "
            "or `make demo` still running; `ss -ltnp 'sport = :{}'` shows which); stop it or "
            "choose another port with {}\n",
            port, port, flag);
    } else if (error == boost::asio::error::access_denied) {
        text += fmt::format("nudged: ports below 1024 need privileges; choose another with {}\n", flag);
    } else if (error == boost::system::errc::address_not_available) {
        text += fmt::format("nudged: {} is not an address of this machine; use 127.0.0.1 or 0.0.0.0\n",
                            host);
    }
    return text;
}

void print_dev_banner(const config::Config& config, const std::string& url) {
    std::cerr << "\n  nudged development mode — never use these values in production\n"
              << "    hub:        " << url << "\n"
              << "    JWT secret: " << config.jwt.secret << "\n"
              << "    API key:    " << config.api.api_key << "\n"
              << "  mint a token: build/nudge token --secret '" << config.jwt.secret
              << "' --sub 123\n"
              << "  emit:         build/nudge emit --url " << url << " --api-key '"
              << config.api.api_key << "' --room user_123 balance_updated '{\"x\":1}'\n\n"
              << std::flush;
}

}  // namespace

int main(int argc, char** argv) {
    // One malloc arena for every thread. Per-thread arenas each keep the holes a connect storm
    // leaves between long-lived connections (~80 B per idle client at 10k, measured); the
    // small allocations that remain on hot paths are served by glibc's per-thread cache
    // without taking the arena's lock. (A no-op under the sanitizers' allocators.)
    mallopt(M_ARENA_MAX, 1);
    auto parsed = config::parse(argc, argv);
    if (!parsed.config) return parsed.exit_code;
    config::Config& config = *parsed.config;
    // --jwt-jwks: the key set every worker's verifier reads, loaded before anything starts.
    std::unique_ptr<net::JwksRefresher> jwks;
    if (!config.jwks.source.empty()) {
        config.jwt.jwks = std::make_shared<auth::KeySet>();
        jwks = std::make_unique<net::JwksRefresher>(config.jwks, config.jwt.jwks);
        if (auto loaded = jwks->load_now(); !loaded) {
            std::cerr << "nudged: " << loaded.error() << "\n";
            return 2;
        }
    }
    if (config.check_config) {
        // Everything startup checks short of binding the port, without logging or threads.
        auto checked = auth::JwtVerifier::create(config.jwt);
        if (!checked) {
            std::cerr << "nudged: invalid JWT configuration: " << checked.error() << "\n";
            return 2;
        }
        if (!config.subscribe_hook.url.empty()) {
            if (auto hook = net::resolve_http_url("--subscribe-hook", config.subscribe_hook.url); !hook) {
                std::cerr << "nudged: " << hook.error() << "\n";
                return 2;
            }
        }
        if (!config.broker.state_dir.empty() && !config.redis) {
            if (auto dir = broker::StateStore::check_dir(config.broker.state_dir); !dir) {
                std::cerr << "nudged: --state-dir: " << dir.error() << "\n";
                return 2;
            }
        }
        std::cout << config::summary(config) << std::flush;
        return 0;
    }
    app::setup_logging(config.log);
    label_metrics();
    raise_fd_limit();

    auto verifier = auth::JwtVerifier::create(config.jwt);
    if (!verifier) {
        spdlog::critical("invalid JWT configuration: {}", verifier.error());
        return 2;
    }
    if (jwks) {
        spdlog::info("jwks source={} keys={} refresh_s={} min_refresh_s={}", config.jwks.source,
                     config.jwt.jwks->size(), config.jwks.refresh.count(),
                     config.jwks.min_refresh.count());
        config.jwt.jwks->on_unknown_kid([refresher = jwks.get()] { refresher->request_refresh(); });
        jwks->start();
    }

    net::ServerContext context;
    context.session = session::Context{config.session, &*verifier};
    if (!config.subscribe_hook.url.empty()) {
        auto hook = net::resolve_http_url("--subscribe-hook", config.subscribe_hook.url);
        if (!hook) {
            spdlog::critical("{}", hook.error());
            return 2;
        }
        context.subscribe_hook = config.subscribe_hook;
        context.subscribe_hook_target = std::move(*hook);
        spdlog::info("subscribe hook={} timeout_ms={} cache_ttl_s={}", config.subscribe_hook.url,
                     config.subscribe_hook.timeout.count(), config.subscribe_hook.cache_ttl.count());
    }
    context.limits = config.limits;
    context.origins = config.origins;
    context.log_sessions_at_info = config.dev;
    context.admission.configure(config.limits.admission);
    // One metrics cell per worker: a machine with more cores gets kWorkerSlots workers.
    const auto threads = config.listen.threads != 0
                             ? std::size_t{config.listen.threads}
                             : std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1,
                                                       metrics::kWorkerSlots);
    net::Server server(context, threads);
    server.hub().set_refetch_rate(config.refetch_rate);
    // The embedded broker, or Redis (--broker redis://...): one of the two serves.
    std::optional<broker::LocalBroker> local_broker;
    std::optional<broker::RedisBroker> redis_broker;
    broker::Broker* broker = nullptr;
    if (config.redis) {
        broker::RedisBrokerConfig redis_config{*config.redis, config.broker.recovery, config.broker.history,
                                               config.broker.idempotency_window, config.broker_timeout,
                                               config.redis_emitter_prefix};
        redis_config.max_backlog = config.redis_max_backlog;
        redis_config.max_commands_in_flight = config.redis_max_commands_in_flight;
        broker = &redis_broker.emplace(server.hub(), server.io(0), std::move(redis_config));
        server.hub().set_presence_listener(
            [&redis_broker](std::string_view room, bool present) { redis_broker->on_presence(room, present); });
        redis_broker->start();
        if (!config.broker.state_dir.empty()) {
            spdlog::info("state dir={} unused: the Redis broker keeps its history in Redis",
                         config.broker.state_dir);
        }
    } else if (config.broker.state_dir.empty()) {
        broker = &local_broker.emplace(server.hub(), config.broker);
    } else {
        if (auto dir = broker::StateStore::check_dir(config.broker.state_dir); !dir) {
            spdlog::critical("--state-dir: {} (create it, or give a directory this user may write)",
                             dir.error());
            return 2;
        }
        broker = &local_broker.emplace(server.hub(), config.broker, app::take_broker_state(config.broker));
    }
    context.broker = broker;
    std::atomic<bool> draining{false};
    const api::Router router(config.api, *broker, [&context, &draining] {
        return !draining.load(std::memory_order_relaxed) &&
               !context.shutting_down.load(std::memory_order_relaxed);
    });
    context.router = &router;

    boost::asio::ip::tcp::endpoint endpoint;
    try {
        endpoint = server.listen(config.listen.host, config.listen.port);
    } catch (const boost::system::system_error& e) {
        std::cerr << listen_error("", "--port", config.listen.host, config.listen.port, e.code());
        return 1;
    }
    if (config.listen.metrics_port) {
        try {
            const auto metrics_endpoint =
                server.listen_metrics(config.listen.metrics_host, *config.listen.metrics_port);
            spdlog::info("metrics listener at http://{}:{}", metrics_endpoint.address().to_string(),
                         metrics_endpoint.port());
        } catch (const boost::system::system_error& e) {
            std::cerr << listen_error(" for metrics", "--metrics-port", config.listen.metrics_host,
                                      *config.listen.metrics_port, e.code());
            return 1;
        }
    }
    const std::string url = fmt::format("http://{}:{}", endpoint.address().to_string(), endpoint.port());
    spdlog::info("listening on {} threads={} broker={}", url, server.hub().shard_count(),
                 config.redis ? redis::redact(*config.redis) : std::string("local"));
    if (config.dev) print_dev_banner(config, url);

    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM);
    boost::asio::steady_timer drain_timer(signals_io);
    bool stopping = false;  // only touched on signal_thread
    auto stop = [&] {
        if (std::exchange(stopping, true)) return;
        drain_timer.cancel();
        // Whatever happens below, the process is gone within 5 s.
        std::thread([] {
            std::this_thread::sleep_for(std::chrono::milliseconds(4500));
            spdlog::error("shutdown took too long; exiting");
            std::_Exit(1);
        }).detach();
        server.shutdown();
    };
    std::function<void()> wait_for_signal = [&] {
        signals.async_wait([&](boost::system::error_code ec, int signal) {
            if (ec) return;
            if (!draining.exchange(true) && config.shutdown.drain.count() > 0) {
                spdlog::info(
                    "signal {} received: draining for {} s (/readyz answers 503); "
                    "a second signal stops now",
                    signal, config.shutdown.drain.count());
                drain_timer.expires_after(config.shutdown.drain);
                drain_timer.async_wait([&](boost::system::error_code timer_ec) {
                    if (!timer_ec) stop();
                });
                wait_for_signal();
                return;
            }
            spdlog::info("signal {} received: closing clients and stopping", signal);
            stop();
        });
    };
    wait_for_signal();
    // The history and the idempotency ids give their memory back even when nothing is published.
    boost::asio::steady_timer expire_timer(signals_io);
    std::function<void()> expire = [&] {
        expire_timer.expires_after(std::chrono::seconds(1));
        expire_timer.async_wait([&](boost::system::error_code ec) {
            if (ec) return;
            if (local_broker) local_broker->expire();  // Redis expires its own keys
            expire();
        });
    };
    expire();
    std::thread signal_thread([&] { signals_io.run(); });

    server.run();
    signals_io.stop();
    signal_thread.join();
    if (redis_broker) redis_broker->stop();
    // The workers have stopped: nothing publishes any more, so the state is final.
    if (local_broker && !config.broker.state_dir.empty()) app::save_broker_state(*local_broker, config.broker);
    spdlog::info("stopped");
    return 0;
}
