// nudge-cdc's settings: flags, NUDGE_CDC_* environment variables and a TOML --config file
// (keys named like the long flags: postgres = "...", rules = "..."), parsed with CLI11 the way
// nudged parses its own. Thread-compatible plain data.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace nudge::cdc {

struct CdcConfig {
    std::string postgres;                 // libpq URL of the database to follow
    std::string rules_file;
    std::string hub = "http://127.0.0.1:8080";
    std::string api_key;
    std::string slot = "nudge";
    std::string publication = "nudge";
    bool check_config = false;
    std::string metrics_host = "127.0.0.1";
    std::optional<std::uint16_t> metrics_port;  // unset: no metrics listener
    std::string log_level = "info";
    std::size_t max_batch = 1000;         // events per publish request (the hub's --max-batch)
    // How long the first pending event waits for more to share its publish request. 10 ms:
    // each request costs nudge-cdc its wake-ups and the loopback send to the hub, so at 1,000
    // changes/s 2 ms (about 3 events per request) cost about twice the CPU per change of 10 ms
    // (about 11), for ~4 ms more latency at the median (bench/cdc/RESULTS.md).
    std::chrono::milliseconds batch_wait{10};
    std::chrono::milliseconds hub_timeout{5000};
    std::chrono::milliseconds max_backoff{5000};   // longest wait between publish attempts
    std::chrono::seconds status_interval{10};      // standby status updates while idle
    // A moved position is reported at most this often while changes keep coming (one status
    // update per transaction would add a syscall per change). Not a flag: tests set 0.
    std::chrono::milliseconds status_min_interval{20};
    // While every --batch-wait window brings events (the Runner sleeps from one window to the
    // next), a moved position is reported only this often: each report wakes the walsender
    // and costs nudge-cdc a syscall, and pg_recvlogical reports every 10 s. When the changes
    // stop, status_min_interval applies again, so the position is still reported promptly.
    // Not a flag: tests set it.
    std::chrono::milliseconds status_flow_interval{1000};
    std::uint64_t lag_warning_bytes = 256ULL << 20U;  // warn when the slot lags more
};

struct CdcParseOutcome {
    std::optional<CdcConfig> config;  // empty: exit now with exit_code
    int exit_code = 0;                // 0 for --help/--version, 2 for usage errors
};

[[nodiscard]] CdcParseOutcome parse_cdc_config(int argc, const char* const* argv);

}  // namespace nudge::cdc
