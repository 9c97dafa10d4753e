#include "cdc/runner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace nudge::cdc {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::seconds kWarnEvery{30};
constexpr std::chrono::milliseconds kMinConfirmInterval{100};

std::vector<Event> to_events(const std::vector<OutEvent>& pending) {
    std::vector<Event> events;
    events.reserve(pending.size());
    for (const auto& out : pending) {
        events.push_back(
            Event{out.rooms, out.name, boost::json::value(out.data), {}, out.id, out.version});
    }
    return events;
}

}  // namespace

Runner::Runner(const CdcConfig& config, Rules rules, std::unique_ptr<ChangeStream> stream,
               ChangeStreamFactory reconnect, std::unique_ptr<EventSink> sink, CdcMetrics& metrics,
               const std::atomic<bool>& stop)
    : config_(config),
      pipeline_(std::move(rules), fmt::format("cdc:{}:", config.slot), config.max_batch),
      stream_(std::move(stream)),
      reconnect_(std::move(reconnect)),
      sink_(std::move(sink)),
      metrics_(metrics),
      stop_(stop) {}

int Runner::run() {
    const auto first_backoff = std::min(kFirstBackoff, config_.max_backoff);
    auto backoff = first_backoff;
    bool first = true;
    while (!stop_) {
        if (!stream_) {
            auto stream = reconnect_();
            if (!stream) {
                spdlog::warn("nudge-cdc: reconnecting to Postgres failed: {}; retrying in {} ms",
                             stream.error().message, backoff.count());
                wait(backoff);
                backoff = std::min(backoff * 2, config_.max_backoff);
                continue;
            }
            stream_ = std::move(*stream);
            metrics_.reconnects.fetch_add(1, std::memory_order_relaxed);
        }
        if (auto started = stream_->start(config_.slot, config_.publication); !started) {
            spdlog::warn("nudge-cdc: {}; retrying in {} ms", started.error().message, backoff.count());
            stream_.reset();
            wait(backoff);
            backoff = std::min(backoff * 2, config_.max_backoff);
            continue;
        }
        spdlog::info("nudge-cdc: streaming slot={} publication={} from confirmed={}{}", config_.slot,
                     config_.publication, format_lsn(pipeline_.confirmed()),
                     first ? "" : " (reconnected)");
        first = false;
        backoff = first_backoff;
        pipeline_.reset();
        keepalive_end_ = 0;
        if (!stream_until_error()) return exit_code_;
        stream_.reset();
    }
    return 0;
}

bool Runner::stream_until_error() {
    bool batch_open = false;
    Clock::time_point batch_deadline{};
    while (!stop_) {
        // Block for a second when there is nothing to publish; with events pending, wait only
        // for the rest of the --batch-wait window (rounded up to whole milliseconds).
        auto wait_for = std::chrono::milliseconds(1000);
        if (batch_open) {
            const auto left = batch_deadline - Clock::now();
            wait_for = left <= Clock::duration::zero()
                           ? std::chrono::milliseconds(0)
                           : std::chrono::ceil<std::chrono::milliseconds>(left);
        }
        auto read = stream_->read(wait_for);
        if (!read) {
            metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("nudge-cdc: {}; reconnecting (Postgres resends from the slot)", read.error().message);
            return true;
        }
        bool reply_requested = false;
        if (*read) {
            auto message = decode_stream(**read);
            if (!message) {
                metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
                spdlog::error("nudge-cdc: undecodable replication message ({}); reconnecting",
                              cdc::message(message.error()));
                return true;
            }
            if (const auto* data = std::get_if<XLogData>(&*message)) {
                metrics_.server_lsn.store(std::max(metrics_.server_lsn.load(std::memory_order_relaxed), data->wal_end),
                                          std::memory_order_relaxed);
                if (auto fed = pipeline_.feed(data->payload); !fed) {
                    metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
                    spdlog::error("nudge-cdc: undecodable pgoutput message at {} ({}); reconnecting",
                                  format_lsn(data->start), cdc::message(fed.error()));
                    return true;
                }
                if (!batch_open && !pipeline_.pending().empty()) {
                    batch_open = true;
                    batch_deadline = Clock::now() + config_.batch_wait;
                }
                // Drain what has arrived before publishing: under load, batches form by themselves.
                if (!pipeline_.batch_full()) continue;
            } else {
                const auto& keepalive = std::get<Keepalive>(*message);
                keepalive_end_ = std::max(keepalive_end_, keepalive.wal_end);
                metrics_.server_lsn.store(std::max(metrics_.server_lsn.load(std::memory_order_relaxed), keepalive.wal_end),
                                          std::memory_order_relaxed);
                reply_requested = keepalive.reply_requested;
            }
        }
        // Nothing more arrived (or only a keepalive, which Postgres sends after each transaction
        // until the client confirms it) and the window is still open: wait for more changes to
        // share the request (fewer requests and wake-ups per change, at most --batch-wait later).
        if (batch_open && !reply_requested && !pipeline_.batch_full() && Clock::now() < batch_deadline) {
            continue;
        }
        if (!pipeline_.pending().empty()) {
            if (!publish()) return false;
            batch_open = false;
            (void)pipeline_.published();
        } else {
            (void)pipeline_.idle(keepalive_end_);
        }
        // A moved position is reported at most every kMinConfirmInterval while changes keep
        // coming (one status message per transaction would double the syscalls per change),
        // and at once when the stream is idle or the server asks.
        const auto since = Clock::now() - last_status_;
        const bool moved = pipeline_.confirmed() != metrics_.confirmed_lsn.load(std::memory_order_relaxed);
        if (reply_requested || since >= config_.status_interval ||
            (moved && (!*read || since >= kMinConfirmInterval))) {
            if (!confirm(pipeline_.confirmed())) return true;
        }
        update_metrics();
        warn_lag();
    }
    return false;
}

bool Runner::publish() {
    const auto events = to_events(pipeline_.pending());
    auto backoff = std::min(kFirstBackoff, config_.max_backoff);
    Clock::time_point last_warning{};
    for (;;) {
        auto sent = sink_->publish(events);
        if (sent) {
            metrics_.events_published.fetch_add(events.size(), std::memory_order_relaxed);
            metrics_.batches_published.fetch_add(1, std::memory_order_relaxed);
            if (metrics_.hub_waiting.exchange(false)) {
                spdlog::info("nudge-cdc: the hub accepts events again; publishing resumed");
            }
            return true;
        }
        metrics_.hub_failures.fetch_add(1, std::memory_order_relaxed);
        const auto kind = sent.error().kind;
        if (!is_transient(kind) && kind != ErrorKind::kBadResponse) {
            spdlog::error("nudge-cdc: {}; stopping with nothing confirmed past the last accepted "
                          "batch (fix the hub's settings or the rules, then start again)",
                          sent.error().describe());
            exit_code_ = 1;
            return false;
        }
        metrics_.hub_waiting = true;
        if (Clock::now() - last_warning >= kWarnEvery) {
            last_warning = Clock::now();
            spdlog::warn("nudge-cdc: {}; waiting for the hub (Postgres keeps the changes; "
                         "lag {} bytes), retrying every {} ms at most",
                         sent.error().describe(), metrics_.lag_bytes(), config_.max_backoff.count());
        }
        wait(backoff);
        if (stop_) return false;
        backoff = std::min(backoff * 2, config_.max_backoff);
    }
}

bool Runner::confirm(Lsn position) {
    last_status_ = Clock::now();
    if (auto sent = stream_->confirm(position); !sent) {
        metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("nudge-cdc: {}; reconnecting", sent.error().message);
        return false;
    }
    metrics_.confirmed_lsn.store(position, std::memory_order_relaxed);
    return true;
}

// Sleeps in short steps so that a stop is seen quickly, and keeps the replication connection
// alive meanwhile: Postgres drops a client silent for wal_sender_timeout (60 s by default).
void Runner::wait(std::chrono::milliseconds duration) {
    const auto until = Clock::now() + duration;
    while (!stop_ && Clock::now() < until) {
        std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100), until - Clock::now()));
        if (stream_ && Clock::now() - last_status_ >= config_.status_interval) {
            (void)confirm(pipeline_.confirmed());  // a failure shows at the next read
        }
        warn_lag();
    }
}

void Runner::update_metrics() {
    const auto& stats = pipeline_.stats();
    metrics_.transactions.store(stats.transactions, std::memory_order_relaxed);
    metrics_.changes.store(stats.changes, std::memory_order_relaxed);
    metrics_.events_without_room.store(pipeline_.match_stats().no_room, std::memory_order_relaxed);
}

void Runner::warn_lag() {
    const auto lag = metrics_.lag_bytes();
    if (lag <= config_.lag_warning_bytes || Clock::now() - last_lag_warning_ < kWarnEvery) return;
    last_lag_warning_ = Clock::now();
    spdlog::warn("nudge-cdc: slot {} is {} bytes of WAL behind (--lag-warning {}); Postgres keeps "
                 "that WAL until the events are published",
                 config_.slot, lag, config_.lag_warning_bytes);
}

}  // namespace nudge::cdc
