// nudge-cdc: wiring only. Parse the settings, check the rules against the database and set up
// the publication and slot (startup.hpp; any failure: a sentence on stderr and exit 2), start
// the /metrics listener, then stream until SIGTERM/SIGINT (runner.hpp).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <iostream>

#include <nudge/emitter.hpp>

#include "cdc/cdc_config.hpp"
#include "cdc/cdc_metrics.hpp"
#include "cdc/runner.hpp"
#include "cdc/startup.hpp"

namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_signal(int /*signal*/) { g_stop = true; }

}  // namespace

int main(int argc, char** argv) {
    using namespace nudge;
    auto parsed = cdc::parse_cdc_config(argc, argv);
    if (!parsed.config) return parsed.exit_code;
    const cdc::CdcConfig& config = *parsed.config;

    auto logger = spdlog::stdout_color_mt("nudge-cdc");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ %v");
    spdlog::set_default_logger(logger);
    spdlog::set_level(spdlog::level::from_str(config.log_level));
    spdlog::flush_on(spdlog::level::info);

    EmitterOptions options;
    options.url = config.hub;
    options.api_key = config.api_key;
    options.timeout = config.hub_timeout;
    options.retry_budget = std::chrono::milliseconds(0);  // the Runner waits and retries forever
    options.max_batch = config.max_batch;
    auto emitter = Emitter::create(std::move(options));
    if (!emitter) {
        std::cerr << "nudge-cdc: --hub: " << emitter.error().describe() << "\n";
        return 2;
    }

    auto prepared = cdc::prepare(config);
    if (!prepared) {
        std::cerr << "nudge-cdc: " << prepared.error() << "\n";
        return 2;
    }
    if (config.check_config) {
        std::cout << "nudge-cdc: configuration OK: " << prepared->summary << "\n";
        return 0;
    }

    cdc::CdcMetrics metrics;
    std::unique_ptr<cdc::MetricsServer> metrics_server;
    if (config.metrics_port) {
        auto started = cdc::MetricsServer::start(config.metrics_host, *config.metrics_port, metrics);
        if (!started) {
            std::cerr << "nudge-cdc: " << started.error() << "\n";
            return 2;
        }
        metrics_server = std::move(*started);
        spdlog::info("nudge-cdc: metrics on http://{}:{}/metrics", config.metrics_host,
                     metrics_server->port());
    }

    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    spdlog::info("nudge-cdc: started: {}", prepared->summary);
    cdc::Runner runner(config, std::move(prepared->rules), std::move(*prepared->stream),
                       std::move(*emitter), metrics, g_stop);
    const int status = runner.run();
    spdlog::info("nudge-cdc: stopped");
    return status;
}
