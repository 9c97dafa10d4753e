// Runner: the replication loop of nudge-cdc. Reads the slot's stream, feeds the Pipeline,
// publishes its events to the hub in commit order and confirms positions to Postgres only
// after the hub answered 202. Runs on the calling thread until `stop` is set.
//
// Failures at run time are waits, never losses: an unreachable hub is retried with backoff
// (the stream is kept alive meanwhile and Postgres keeps the WAL; a lag warning is logged
// past --lag-warning); a lost or undecodable replication connection is reopened from the
// slot. Only a hub that refuses the events themselves (401, 400, 413) stops the program,
// with nothing confirmed past the last accepted batch.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include <memory>

#include "cdc/cdc_config.hpp"
#include "cdc/cdc_metrics.hpp"
#include "cdc/change_source.hpp"
#include "cdc/pipeline.hpp"

namespace nudge::cdc {

class Runner {
public:
    // `stream` is connected, not started; `reconnect` opens the next one after a failure.
    Runner(const CdcConfig& config, Rules rules, std::unique_ptr<ChangeStream> stream,
           ChangeStreamFactory reconnect, std::unique_ptr<EventSink> sink, CdcMetrics& metrics,
           const std::atomic<bool>& stop);

    // Returns the exit status: 0 after `stop`, 1 when the hub refused the events.
    [[nodiscard]] int run();

private:
    // Reads and publishes until the connection fails or `stop`; false: exit with exit_code_.
    bool stream_until_error();
    // Decodes one stream message into the Pipeline; false: undecodable, reconnect.
    bool take(std::span<const std::uint8_t> bytes);
    void note_server_lsn(Lsn lsn);
    [[nodiscard]] std::chrono::milliseconds idle_wait() const;
    bool publish();
    bool confirm(Lsn position);
    void wait(std::chrono::milliseconds duration);
    void update_metrics();
    void warn_lag();

    const CdcConfig& config_;
    Pipeline pipeline_;
    std::unique_ptr<ChangeStream> stream_;
    ChangeStreamFactory reconnect_;
    std::unique_ptr<EventSink> sink_;
    CdcMetrics& metrics_;
    const std::atomic<bool>& stop_;
    Lsn keepalive_end_ = 0;
    bool reply_owed_ = false;  // a keepalive asked for a status update not yet sent
    // Empty until the first one: steady_clock counts from boot, so a default time_point would
    // make "never" look recent on a machine up for less than the interval.
    std::optional<std::chrono::steady_clock::time_point> last_status_;
    std::optional<std::chrono::steady_clock::time_point> last_lag_warning_;
    // Time since the last status update; the longest duration when none was sent yet.
    [[nodiscard]] std::chrono::steady_clock::duration since_status() const;
    int exit_code_ = 0;
};

}  // namespace nudge::cdc
