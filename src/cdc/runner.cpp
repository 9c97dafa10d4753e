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
// How long a drain that emptied the socket mid-transaction (no events pending) sleeps before
// reading on. Short: Postgres is sending at full speed then, and a Unix socket holds only a
// couple of hundred small messages before the walsender has to wait for the reader.
constexpr std::chrono::milliseconds kBusyPause{1};

// Moves rather than copies (the rooms, name, data and id of each event were allocated twice):
// the pending events are published once, and a retry resends these Events.
std::vector<Event> to_events(std::span<OutEvent> pending) {
    std::vector<Event> events;
    events.reserve(pending.size());
    for (auto& out : pending) {
        events.push_back(Event{std::move(out.rooms), std::move(out.name),
                               boost::json::value(std::move(out.data)), {}, std::move(out.id),
                               std::move(out.version)});
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
        reply_owed_ = false;
        last_status_.reset();  // a new walsender: report the position at once
        if (!stream_until_error()) return exit_code_;
        stream_.reset();
    }
    return 0;
}

// The loop is shaped by what a wake-up costs: on a busy machine a wake-up (poll returning,
// the scheduler switching in, the syscalls around it) costs more than decoding and matching a
// change. Postgres sends each pgoutput message as it decodes it (a one-row transaction is a
// Begin, an Insert, a Commit and then a keepalive, each flushed on its own), so reading each as
// it arrives wakes the process several times per transaction. Instead:
//  - after a wake-up the loop takes what libpq has received; with events pending it then
//    sleeps out the --batch-wait window once (the next transactions arrive meanwhile), reads
//    everything that has arrived without waiting (drains), and publishes once. The window
//    comes before the first empty receive: a receive that finds nothing costs a syscall, and
//    the one after the window finds what arrived in it as well;
//  - while every window brings events, the next window is slept out right after the publish,
//    without waiting in poll for its first message: one wake-up per request instead of two.
//    A window that brings nothing ends this, and the loop waits in poll again;
//  - a drain that empties the socket in the middle of a transaction whose changes match no
//    rule (a backlog, a bulk load of other tables) sleeps kBusyPause before reading on:
//    Postgres is still sending that transaction, and reading it a millisecond at a time costs
//    one wake-up per read instead of one per few messages, for nudge-cdc and for the
//    walsender, which need not wake a reader sleeping outside poll;
//  - keepalives are answered when the server asks (reply requested) or when a status update is
//    due; a moved position is reported at most every status_flow_interval while every window
//    brings events, otherwise at most every status_min_interval, and within
//    status_min_interval once changes stop (the wait's timeout is cut to fit).
bool Runner::stream_until_error() {
    bool draining = false;      // reading what has already arrived, without waiting
    bool paused = false;        // this wake-up already slept out the --batch-wait window
    std::size_t held_for = 0;   // messages read since the oldest pending event
    bool flowing = false;       // every window since the last wake-up brought events
    while (!stop_) {
        if (flowing && !draining) {
            // Changes keep coming: sleep the next window out straight away instead of waking
            // for its first message. No event waits longer than the window, as when woken.
            wait(config_.batch_wait);
            draining = paused = true;
            continue;
        }
        const bool before_window = draining && !paused && held_for > 0 && config_.batch_wait.count() > 0;
        auto read = before_window ? stream_->read_buffered()
                                  : stream_->read(draining ? std::chrono::milliseconds(0) : idle_wait());
        if (!read) {
            metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("nudge-cdc: {}; reconnecting (Postgres resends from the slot)", read.error().message);
            return true;
        }
        if (*read) {
            if (!take(**read)) return true;
            if (!pipeline_.pending().empty()) ++held_for;
            draining = true;
        } else if (before_window) {
            // Everything received is taken and events wait to be published: let more arrive
            // to share the request and this wake-up, then read it too. (Not for a transaction
            // whose changes match no rule: that is the busy pause below.)
            paused = true;
            wait(config_.batch_wait);
            continue;
        } else if (draining && held_for == 0 && pipeline_.in_transaction()) {
            wait(kBusyPause);  // the rest of the transaction is on its way
            continue;
        } else {
            draining = false;  // everything that had arrived is read
            paused = false;
            if (held_for == 0) flowing = false;  // this window brought nothing to publish
        }
        // Publish once the stream has nothing more for now or the batch is full; a stream that
        // never pauses holds an event for at most max_batch further messages.
        if (held_for > 0 && (!draining || pipeline_.batch_full() || held_for > config_.max_batch)) {
            // Until nothing is pending: a change that made more events than a batch holds
            // refills pending() at published().
            do {
                if (!publish()) return false;
                (void)pipeline_.published();
            } while (!pipeline_.pending().empty());
            held_for = 0;
            flowing = config_.batch_wait.count() > 0;
        } else {
            (void)pipeline_.idle(keepalive_end_);  // a no-op mid-transaction or with events pending
        }
        const auto since = since_status();
        const bool moved = pipeline_.confirmed() != metrics_.confirmed_lsn.load(std::memory_order_relaxed);
        const auto gap = flowing ? config_.status_flow_interval : config_.status_min_interval;
        if (reply_owed_ || since >= config_.status_interval || (moved && since >= gap)) {
            reply_owed_ = false;
            if (!confirm(pipeline_.confirmed())) return true;
        }
        update_metrics();
        warn_lag();
    }
    return false;
}

bool Runner::take(std::span<const std::uint8_t> bytes) {
    auto message = decode_stream(bytes);
    if (!message) {
        metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
        spdlog::error("nudge-cdc: undecodable replication message ({}); reconnecting",
                      cdc::message(message.error()));
        return false;
    }
    if (const auto* data = std::get_if<XLogData>(&*message)) {
        note_server_lsn(data->wal_end);
        if (auto fed = pipeline_.feed(data->payload); !fed) {
            metrics_.stream_errors.fetch_add(1, std::memory_order_relaxed);
            spdlog::error("nudge-cdc: undecodable pgoutput message at {} ({}); reconnecting",
                          format_lsn(data->start), cdc::message(fed.error()));
            return false;
        }
        return true;
    }
    const auto& keepalive = std::get<Keepalive>(*message);
    keepalive_end_ = std::max(keepalive_end_, keepalive.wal_end);
    note_server_lsn(keepalive.wal_end);
    reply_owed_ = reply_owed_ || keepalive.reply_requested;
    return true;
}

void Runner::note_server_lsn(Lsn lsn) {
    if (lsn > metrics_.server_lsn.load(std::memory_order_relaxed)) {
        metrics_.server_lsn.store(lsn, std::memory_order_relaxed);
    }
}

// How long a read may block: until the next status update falls due (a moved position within
// status_min_interval, the idle report every --status-interval), at most a second.
std::chrono::milliseconds Runner::idle_wait() const {
    const bool moved = pipeline_.confirmed() != metrics_.confirmed_lsn.load(std::memory_order_relaxed);
    const auto every = moved ? config_.status_min_interval : Clock::duration(config_.status_interval);
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(every - std::min(since_status(), every));
    return std::clamp(left, std::chrono::milliseconds(0), std::chrono::milliseconds(1000));
}

bool Runner::publish() {
    const auto events = to_events(pipeline_.pending_to_publish());
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

Clock::duration Runner::since_status() const {
    return last_status_ ? Clock::now() - *last_status_ : Clock::duration::max();
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
        if (stream_ && since_status() >= config_.status_interval) {
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
    if (lag <= config_.lag_warning_bytes || (last_lag_warning_ && Clock::now() - *last_lag_warning_ < kWarnEvery)) return;
    last_lag_warning_ = Clock::now();
    spdlog::warn("nudge-cdc: slot {} is {} bytes of WAL behind (--lag-warning {}); Postgres keeps "
                 "that WAL until the events are published",
                 config_.slot, lag, config_.lag_warning_bytes);
}

}  // namespace nudge::cdc
