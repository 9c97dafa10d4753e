// Pipeline: the replication stream's payloads in, events to publish and the position that may
// be confirmed out. Pure (no I/O), so exactly-once bookkeeping is tested without a database.
//
// pgoutput (protocol 1, no streaming) sends a transaction only after it committed, whole, in
// commit order, and its Begin already carries the commit LSN. So every event gets, at once,
// its final id "<prefix><commit LSN>:<index in the transaction>", and a large transaction's
// events may be published in several batches before its Commit arrives. The position handed
// to Postgres (the slot's confirmed_flush_lsn) is the end LSN of the last transaction whose
// events were all published: after a crash Postgres resends every later transaction, and the
// hub drops the events it has already taken by their ids.
//
// Each event's `version` (what a client's refetch must be at least as new as, compared with a
// replica's pg_last_wal_replay_lsn()) is the commit LSN + 1, not the commit LSN itself: the
// commit LSN is where the commit record *starts*, and a standby's replay position is the end
// of the last record it replayed, so a standby holding just before the commit record (exactly
// what recovery_min_apply_delay does: it waits before applying each commit) reports the commit
// LSN while the transaction is still invisible there. Any position past the start is only
// reached once the commit record was replayed. (The Commit's end LSN would do too, but events
// of a large transaction are published before its Commit arrives.) data.lsn stays the commit
// LSN, as Postgres names the transaction.
//
// Bounded: pending() never holds more than `max_batch` events; the caller publishes when
// batch_full() and before feeding more. One change can make several events (several rules, a
// truncate of several tables): those past `max_batch` wait in order and refill pending() at
// published(), and the position moves only once they are published too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cdc/matcher.hpp"
#include "cdc/pgoutput.hpp"
#include "cdc/rules.hpp"

namespace nudge::cdc {

struct PipelineStats {
    std::uint64_t transactions = 0;
    std::uint64_t changes = 0;
    std::uint64_t events = 0;
    std::uint64_t relations = 0;
};

class Pipeline {
public:
    Pipeline(Rules rules, std::string id_prefix, std::size_t max_batch);

    // One XLogData payload (a pgoutput message). A decode error means the stream cannot be
    // trusted any more: the caller reconnects (and Postgres resends from the slot).
    [[nodiscard]] Result<void, DecodeError> feed(std::span<const std::uint8_t> payload);

    [[nodiscard]] const std::vector<OutEvent>& pending() const noexcept { return pending_; }
    // pending() for the caller to move the events out of while publishing them; they stay
    // counted as pending (batch_full(), idle()) until published() clears them.
    [[nodiscard]] std::span<OutEvent> pending_to_publish() noexcept { return pending_; }
    [[nodiscard]] bool batch_full() const noexcept { return pending_.size() >= max_batch_; }
    [[nodiscard]] bool in_transaction() const noexcept { return in_transaction_; }

    // The caller's hub took every pending() event: clears them and returns the position that
    // may now be confirmed, if it moved.
    [[nodiscard]] std::optional<Lsn> published();
    // Nothing to publish: the position that may be confirmed, if it moved. `wal_end` is the
    // server's last keepalive position (everything before it was sent: WAL of other tables
    // and databases is released with it), or 0. Never XLogData's wal_end, which may be past
    // a committed transaction not yet sent.
    [[nodiscard]] std::optional<Lsn> idle(Lsn wal_end);
    // After a reconnect: forget the open transaction and the unpublished events (Postgres
    // sends them again from the confirmed position). Relations are sent again too.
    void reset();

    [[nodiscard]] Lsn confirmed() const noexcept { return confirmed_; }
    [[nodiscard]] const PipelineStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const MatchStats& match_stats() const noexcept { return matcher_.stats(); }

private:
    void collect(std::vector<OutEvent>& produced);

    Matcher matcher_;
    std::string id_prefix_;
    std::size_t max_batch_;
    std::vector<OutEvent> pending_;
    std::deque<OutEvent> overflow_;  // made past max_batch, in order: the next batches
    std::vector<OutEvent> scratch_;
    bool in_transaction_ = false;
    Lsn commit_lsn_ = 0;    // of the open transaction (from its Begin)
    std::uint64_t index_ = 0;  // next event index in the open transaction
    Lsn ready_ = 0;         // end LSN of the last transaction whose events are all in pending_
    Lsn confirmed_ = 0;
    PipelineStats stats_;
};

}  // namespace nudge::cdc
