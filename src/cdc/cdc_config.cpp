#include "cdc/cdc_config.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "config/flag_errors.hpp"
#include "config/toml_config.hpp"

namespace nudge::cdc {

CdcParseOutcome parse_cdc_config(int argc, const char* const* argv) {
    CdcConfig config;
    CLI::App app{
        "nudge-cdc: turns committed Postgres changes into nudge events.\n"
        "Reads the database's logical replication stream (pgoutput), applies the --rules file and "
        "publishes the events to the hub in commit order, exactly once.\n"
        "Every flag can also be set as NUDGE_CDC_<FLAG> or in a TOML --config file.",
        "nudge-cdc"};
    app.set_config("--config", "", "TOML file with settings named like the long flags (slot = \"nudge\")");
    // The same reader as nudged's: real TOML (toml++), errors as file:line:column with the key.
    auto toml_file = std::make_shared<config::TomlConfig>(app);
    app.config_formatter(toml_file);
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.set_version_flag("--version", "nudge-cdc 0.1.0");
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

    auto batch_wait_ms = static_cast<unsigned>(config.batch_wait.count());
    unsigned hub_timeout_ms = 5000;
    unsigned max_backoff_ms = 5000;
    unsigned status_interval_s = 10;
    int metrics_port = -1;

    app.add_option("--postgres", config.postgres,
                   "libpq URL of the database, e.g. postgresql://nudge:secret@127.0.0.1:5432/bank "
                   "(the role needs REPLICATION)")
        ->envname("NUDGE_CDC_POSTGRES")->required();
    app.add_option("--rules", config.rules_file, "TOML file of [[rule]] tables")
        ->envname("NUDGE_CDC_RULES")->required()->check(CLI::ExistingFile);
    app.add_option("--hub", config.hub, "URL of the hub's publish API")
        ->envname("NUDGE_CDC_HUB")->capture_default_str();
    app.add_option("--api-key", config.api_key, "the hub's --api-key")
        ->envname("NUDGE_CDC_API_KEY")->required();
    app.add_option("--slot", config.slot, "logical replication slot (created when missing)")
        ->envname("NUDGE_CDC_SLOT")->capture_default_str();
    app.add_option("--publication", config.publication, "publication (created or extended when missing)")
        ->envname("NUDGE_CDC_PUBLICATION")->capture_default_str();
    app.add_flag("--check-config", config.check_config,
                 "check the settings, the rules against the database and the role's privileges, "
                 "create nothing, print a summary and exit (0 when all is well, 2 otherwise)");
    app.add_option("--metrics-host", config.metrics_host, "address of the /metrics listener")
        ->envname("NUDGE_CDC_METRICS_HOST")->capture_default_str();
    app.add_option("--metrics-port", metrics_port, "serve /metrics on this port (0: any free port)")
        ->envname("NUDGE_CDC_METRICS_PORT")->check(CLI::Range(0, 65535));
    app.add_option("--log-level", config.log_level, "trace, debug, info, warn, error")
        ->envname("NUDGE_CDC_LOG_LEVEL")->capture_default_str()
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.add_option("--max-batch", config.max_batch, "most events in one publish request (at most the hub's --max-batch)")
        ->envname("NUDGE_CDC_MAX_BATCH")->capture_default_str()->check(CLI::Range(1, 100000));
    app.add_option("--batch-wait", batch_wait_ms,
                   "ms an event waits for more changes to share its publish request; while changes "
                   "keep coming, requests go out about this often (0: publish as soon as the "
                   "stream has no more data, one request per wake-up)")
        ->envname("NUDGE_CDC_BATCH_WAIT")->capture_default_str()->check(CLI::Range(0, 1000));
    app.add_option("--hub-timeout", hub_timeout_ms, "ms one publish request may take")
        ->envname("NUDGE_CDC_HUB_TIMEOUT")->capture_default_str()->check(CLI::Range(100, 600000));
    app.add_option("--max-backoff", max_backoff_ms, "longest wait in ms between attempts while the hub or Postgres is unreachable")
        ->envname("NUDGE_CDC_MAX_BACKOFF")->capture_default_str()->check(CLI::Range(10, 600000));
    app.add_option("--status-interval", status_interval_s, "seconds between position reports to Postgres while idle")
        ->envname("NUDGE_CDC_STATUS_INTERVAL")->capture_default_str()->check(CLI::Range(1, 3600));
    app.add_option("--lag-warning", config.lag_warning_bytes,
                   "log a warning while the slot is more than this many bytes of WAL behind")
        ->envname("NUDGE_CDC_LAG_WARNING")->capture_default_str();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ConfigError& e) {
        std::cerr << "nudge-cdc: " << e.what() << "\n";
        return CdcParseOutcome{std::nullopt, 2};
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
            return CdcParseOutcome{std::nullopt, app.exit(e)};  // --help, --version
        }
        if (const auto unknown = config::unknown_flags(app, argc, argv, "nudge-cdc"); !unknown.empty()) {
            std::cerr << unknown << "run 'nudge-cdc --help' for the flags\n";
        } else {
            std::cerr << "nudge-cdc: " << config::locate(e.what(), *toml_file, argc, argv)
                      << "\nrun 'nudge-cdc --help' for the flags\n";
        }
        return CdcParseOutcome{std::nullopt, 2};
    }
    if (config.api_key.empty()) {
        std::cerr << "nudge-cdc: --api-key must not be empty (the hub's --api-key)\n";
        return CdcParseOutcome{std::nullopt, 2};
    }
    if (config.slot.empty() || config.publication.empty()) {
        std::cerr << "nudge-cdc: --slot and --publication must not be empty\n";
        return CdcParseOutcome{std::nullopt, 2};
    }
    if (metrics_port >= 0) config.metrics_port = static_cast<std::uint16_t>(metrics_port);
    config.batch_wait = std::chrono::milliseconds(batch_wait_ms);
    config.hub_timeout = std::chrono::milliseconds(hub_timeout_ms);
    config.max_backoff = std::chrono::milliseconds(max_backoff_ms);
    config.status_interval = std::chrono::seconds(status_interval_s);
    return CdcParseOutcome{std::move(config), 0};
}

}  // namespace nudge::cdc
