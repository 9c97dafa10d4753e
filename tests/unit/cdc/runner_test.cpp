// The Runner's exactly-once bookkeeping under failures, the Beast fail_count way: a scripted
// Postgres (FakeStream, which resends everything after the confirmed position on every new
// session, as a slot does) and a hub that drops ids it has seen (FakeHub); the n-th read, the
// n-th confirm or the n-th publish fails, for every n until a run needs no failure. Each run
// must deliver every event exactly once, in commit order, and never confirm a position whose
// events the hub has not all taken.
#include "cdc/runner.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <map>
#include <set>
#include <thread>

namespace nudge::cdc {
namespace {

// pgoutput protocol 1 bytes (see pgoutput.hpp), for a table public.t (id int4, user_id int4).
class Bytes {
public:
    Bytes& u8(std::uint8_t v) { out_.push_back(v); return *this; }
    Bytes& u16(std::uint16_t v) { return be(v, 2); }
    Bytes& u32(std::uint32_t v) { return be(v, 4); }
    Bytes& u64(std::uint64_t v) { return be(v, 8); }
    Bytes& str(std::string_view s) {
        out_.insert(out_.end(), s.begin(), s.end());
        return u8(0);
    }
    Bytes& text(std::string_view s) {
        u8('t').u32(static_cast<std::uint32_t>(s.size()));
        out_.insert(out_.end(), s.begin(), s.end());
        return *this;
    }
    std::vector<std::uint8_t> take() { return std::move(out_); }

private:
    Bytes& be(std::uint64_t v, int n) {
        for (int shift = (n - 1) * 8; shift >= 0; shift -= 8) {
            out_.push_back(static_cast<std::uint8_t>(v >> static_cast<unsigned>(shift)));
        }
        return *this;
    }
    std::vector<std::uint8_t> out_;
};

std::vector<std::uint8_t> xlog(const std::vector<std::uint8_t>& payload) {
    auto out = Bytes().u8('w').u64(0).u64(0).u64(0).take();
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

struct Transaction {
    Lsn commit = 0;
    Lsn end = 0;
    std::vector<int> ids;  // one inserted row each, user_id = id % 3
};

std::vector<Transaction> script() {
    std::vector<Transaction> txs;
    int id = 0;
    for (int t = 0; t < 12; ++t) {
        Transaction tx;
        tx.commit = 0x1000 + static_cast<Lsn>(t) * 0x100;
        tx.end = tx.commit + 0x30;
        for (int r = 0; r <= t % 3; ++r) tx.ids.push_back(++id);
        txs.push_back(tx);
    }
    return txs;
}

struct Failures {
    int read_at = 0;     // the n-th read (over all sessions) fails; 0: none
    int confirm_at = 0;  // the n-th confirm fails
    int publish_at = 0;  // the n-th publish answers 503
    int reads = 0, confirms = 0, publishes = 0;
    // How the messages arrive: all at once, or one receive at a time: each transaction, then
    // a receive that finds nothing; or each transaction cut after its first change by a
    // receive that finds nothing.
    enum class Pace { kAllAtOnce, kTransactionThenNothing, kNothingMidTransaction };
    Pace pace = Pace::kAllAtOnce;
    int waits_with_more_to_come = 0;  // reads allowed to wait while messages were still to arrive
    int waits_mid_transaction = 0;    // reads allowed to wait inside a partly read transaction
    bool rules_match = true;          // false: the rules match no row, the hub gets nothing
    std::optional<std::size_t> ask_reply_after;  // the keepalive after this transaction asks for a reply
    // (messages read in the session, position) at each confirm, over all sessions.
    std::vector<std::pair<std::size_t, Lsn>> confirmed_at;
};

// The hub: takes events, drops ids seen before (its idempotency window).
struct FakeHub final : EventSink {
    Failures& failures;
    std::set<std::string> seen;
    std::vector<std::string> delivered;  // "id:<row id>" in delivery order
    explicit FakeHub(Failures& f) : failures(f) {}
    EmitResult publish(const std::vector<Event>& events) override {
        if (++failures.publishes == failures.publish_at) {
            EmitError error;
            error.kind = ErrorKind::kUnavailable;
            error.status = 503;
            return tl::make_unexpected(error);
        }
        for (const auto& event : events) {
            // Every event carries its transaction's version: just past its commit LSN.
            const auto lsn = parse_lsn(std::string_view(event.data->as_object().at("lsn").as_string()));
            EXPECT_TRUE(lsn.has_value());
            EXPECT_EQ(event.version, format_lsn(lsn.value_or(0) + 1));
            if (!seen.insert(event.id).second) continue;
            delivered.push_back(boost::json::serialize(event.data->as_object().at("id")));
        }
        return Accepted{events.size()};
    }
};

// The slot: confirmed position shared by every session; each session resends the Relation and
// every transaction ending after that position, then keepalives.
struct Slot {
    Lsn confirmed = 0;
    Lsn max_confirmed_seen = 0;
};

struct FakeStream final : ChangeStream {
    Failures& failures;
    Slot& slot;
    const FakeHub& hub;
    const std::vector<Transaction>& txs;
    std::atomic<bool>& stop;
    std::vector<std::vector<std::uint8_t>> queue;
    std::size_t next = 0;
    std::size_t arrived = 0;        // queue[0, arrived) has arrived
    std::vector<std::size_t> cuts;  // `arrived` after each receive (Pace), then everything
    std::size_t step = 0;
    bool in_transaction = false;    // a Begin was read, its Commit not yet
    std::vector<std::uint8_t> current;
    bool failed = false;

    FakeStream(Failures& f, Slot& s, const FakeHub& h, const std::vector<Transaction>& t,
               std::atomic<bool>& st)
        : failures(f), slot(s), hub(h), txs(t), stop(st) {}

    Result<void, PgError> start(const std::string&, const std::string&) override {
        queue.push_back(xlog(Bytes().u8('R').u32(16384).str("public").str("t").u8('f').u16(2)
                                 .u8(1).str("id").u32(23).u32(0xFFFFFFFF)
                                 .u8(1).str("user_id").u32(23).u32(0xFFFFFFFF).take()));
        for (const auto& tx : txs) {
            if (tx.end <= slot.confirmed) continue;
            const std::size_t begin = queue.size();
            queue.push_back(xlog(Bytes().u8('B').u64(tx.commit).u64(0).u32(7).take()));
            for (const int id : tx.ids) {
                queue.push_back(xlog(Bytes().u8('I').u32(16384).u8('N').u16(2)
                                         .text(std::to_string(id)).text(std::to_string(id % 3)).take()));
            }
            queue.push_back(xlog(Bytes().u8('C').u8(0).u64(tx.commit).u64(tx.end).u64(0).take()));
            // Postgres follows a transaction with a keepalive until the client confirms it.
            const bool ask = failures.ask_reply_after == static_cast<std::size_t>(&tx - txs.data());
            queue.push_back(Bytes().u8('k').u64(tx.end).u64(0).u8(ask ? 1 : 0).take());
            if (failures.pace == Failures::Pace::kNothingMidTransaction) {
                cuts.insert(cuts.end(), {begin + 2, begin + 2});
            }
            cuts.push_back(queue.size());
            if (failures.pace == Failures::Pace::kTransactionThenNothing) cuts.push_back(queue.size());
        }
        if (failures.pace == Failures::Pace::kAllAtOnce) arrived = queue.size();
        return {};
    }
    std::optional<std::span<const std::uint8_t>> deliver() {
        current = queue[next++];
        // XLogData: 'w' and three positions, then the pgoutput message's type.
        if (current.size() > 25 && current[25] == 'B') in_transaction = true;
        if (current.size() > 25 && current[25] == 'C') in_transaction = false;
        return std::span(current);
    }
    // Everything queued has arrived: buffered and received reads differ only once it is
    // all read (the first then finds nothing, the second waits or ends the run).
    Result<std::optional<std::span<const std::uint8_t>>, PgError> read_buffered() override {
        if (failed || ++failures.reads == failures.read_at) {
            failed = true;
            return fail(PgError{"injected read failure", false});
        }
        if (next < arrived) return deliver();
        return std::optional<std::span<const std::uint8_t>>{};
    }
    Result<std::optional<std::span<const std::uint8_t>>, PgError> read(std::chrono::milliseconds wait) override {
        if (failed || ++failures.reads == failures.read_at) {
            failed = true;
            return fail(PgError{"injected read failure", false});
        }
        if (wait.count() > 0 && arrived < queue.size()) ++failures.waits_with_more_to_come;
        if (wait.count() > 0 && in_transaction) ++failures.waits_mid_transaction;
        if (next < arrived) return deliver();
        if (arrived < queue.size()) {  // one receive: the next cut arrives (maybe nothing)
            arrived = step < cuts.size() ? cuts[step++] : queue.size();
            if (next < arrived) return deliver();
            return std::optional<std::span<const std::uint8_t>>{};
        }
        // Caught up: done once everything is delivered and confirmed; else nothing arrives
        // within the wait, as with a server that has sent everything.
        if (slot.confirmed >= txs.back().end) {
            stop = true;
        } else {
            std::this_thread::sleep_for(wait);
        }
        return std::optional<std::span<const std::uint8_t>>{};
    }
    Result<void, PgError> confirm(Lsn flushed) override {
        if (failed || ++failures.confirms == failures.confirm_at) {
            failed = true;
            return fail(PgError{"injected confirm failure", false});
        }
        // Never past a transaction whose events the hub has not all taken.
        std::size_t taken = hub.delivered.size();
        for (const auto& tx : txs) {
            if (!failures.rules_match) break;
            if (tx.end > flushed) break;
            if (taken < tx.ids.size()) {
                ADD_FAILURE() << "confirmed " << flushed << " before the hub took transaction " << tx.end;
                break;
            }
            taken -= tx.ids.size();
        }
        EXPECT_GE(flushed, slot.confirmed) << "the position went backwards";
        failures.confirmed_at.emplace_back(next, flushed);
        slot.confirmed = std::max(slot.confirmed, flushed);
        return {};
    }
};

Rules rules(std::string_view where = "") {
    auto parsed = parse_rules(
        "[[rule]]\ntable = \"t\"\non = [\"insert\"]\nevent = \"row\"\nrooms = [\"u_{user_id}\"]\ndata = [\"id\"]\n" +
            std::string(where),
        "r.toml");
    EXPECT_TRUE(parsed.has_value());
    return *parsed;
}

// The settings of the failure runs: no batching window, a status update whenever the position
// moved (the most confirms, so the most places for a confirm to fail).
CdcConfig eager(std::size_t max_batch) {
    CdcConfig config;
    config.max_batch = max_batch;
    config.batch_wait = std::chrono::milliseconds(0);
    config.status_min_interval = std::chrono::milliseconds(0);
    config.max_backoff = std::chrono::milliseconds(1);
    return config;
}

// One run with the given failures; returns the delivered row ids in delivery order.
std::vector<std::string> run_with(Failures& failures, const CdcConfig& config, Rules chosen = rules()) {
    spdlog::set_level(spdlog::level::off);  // the retries and reconnects log on purpose
    const auto txs = script();
    Slot slot;
    std::atomic<bool> stop{false};
    CdcMetrics metrics;
    auto hub = std::make_unique<FakeHub>(failures);
    FakeHub* hub_view = hub.get();
    auto open = [&]() -> Result<std::unique_ptr<ChangeStream>, PgError> {
        return std::make_unique<FakeStream>(failures, slot, *hub_view, txs, stop);
    };
    Runner runner(config, std::move(chosen), *open(), open, std::move(hub), metrics, stop);
    EXPECT_EQ(runner.run(), 0);
    EXPECT_EQ(slot.confirmed, txs.back().end);
    return hub_view->delivered;
}

std::vector<std::string> expected() {
    std::vector<std::string> out;
    for (const auto& tx : script()) {
        for (const int id : tx.ids) out.push_back(std::to_string(id));
    }
    return out;
}

TEST(Runner, DeliversEverythingOnceWithoutFailures) {
    for (const std::size_t batch : {1U, 2U, 1000U}) {
        Failures none;
        EXPECT_EQ(run_with(none, eager(batch)), expected()) << "max_batch " << batch;
    }
}

TEST(Runner, EveryReadFailureIsAReconnectWithoutLossOrDuplicate) {
    for (int n = 1;; ++n) {
        Failures failures;
        failures.read_at = n;
        EXPECT_EQ(run_with(failures, eager(2)), expected()) << "read " << n << " failed";
        if (failures.reads < n) break;  // the run ended before the n-th read: all covered
    }
}

TEST(Runner, EveryConfirmFailureIsAReconnectWithoutLossOrDuplicate) {
    for (int n = 1;; ++n) {
        Failures failures;
        failures.confirm_at = n;
        EXPECT_EQ(run_with(failures, eager(2)), expected()) << "confirm " << n << " failed";
        if (failures.confirms < n) break;
    }
}

TEST(Runner, EveryFailedPublishIsRetriedInOrder) {
    for (int n = 1;; ++n) {
        Failures failures;
        failures.publish_at = n;
        EXPECT_EQ(run_with(failures, eager(3)), expected()) << "publish " << n << " failed";
        if (failures.publishes < n) break;
    }
}

// What has already arrived is read before publishing: twelve transactions waiting in the
// stream go out in one request, even without a --batch-wait window.
TEST(Runner, WhatHasArrivedSharesOneRequest) {
    Failures none;
    EXPECT_EQ(run_with(none, eager(1000)), expected());
    EXPECT_EQ(none.publishes, 1);
}

// The production settings (a 10 ms window, status updates at most every 20 ms): the same
// events, once, in order, and the slot confirmed to the end.
TEST(Runner, DeliversEverythingOnceWithTheDefaultSettings) {
    Failures none;
    CdcConfig config;
    config.max_backoff = std::chrono::milliseconds(1);
    EXPECT_EQ(run_with(none, config), expected());
    EXPECT_EQ(none.publishes, 1);
}

// A keepalive asking for a reply is answered at once, before the next message is read, even
// in the middle of reading what has arrived and with no status update otherwise due.
TEST(Runner, AnswersAKeepaliveThatAsksForAReply) {
    Failures failures;
    failures.ask_reply_after = 4;
    CdcConfig config = eager(1000);
    config.status_interval = std::chrono::seconds(3600);
    EXPECT_EQ(run_with(failures, config), expected());
    // The first status update of a session goes out at once (none was ever sent), the second
    // answers the keepalive, the third confirms the end once the events are published.
    std::size_t asked_at = 1;  // the Relation, then Begin, Inserts, Commit, keepalive per transaction
    for (std::size_t t = 0; t <= 4; ++t) asked_at += script()[t].ids.size() + 3;
    ASSERT_EQ(failures.confirmed_at.size(), 3U);
    EXPECT_EQ(failures.confirmed_at[1].first, asked_at);
    EXPECT_EQ(failures.confirmed_at[2].second, script().back().end);
}

// Settings where a read that may wait is visible: status updates at most every 50 ms (so the
// wait until the next one is rarely 0) and never for being idle.
CdcConfig paced(std::chrono::milliseconds batch_wait) {
    CdcConfig config;
    config.batch_wait = batch_wait;
    config.status_min_interval = std::chrono::milliseconds(50);
    config.status_interval = std::chrono::seconds(3600);
    config.max_backoff = std::chrono::milliseconds(1);
    return config;
}

// While every window brings a transaction, the next window is slept out right after the
// publish instead of waiting in poll for its first message: no read may wait while more is
// on its way. (A read that waits anyway because a status update fell due is allowed by the
// count: it is a wait of 0.) One request per transaction: the window is slept before the
// receive that finds nothing, not after it (that receive would have eaten the empty step and
// the window would then bring the next transaction into the same request).
TEST(Runner, WhileChangesKeepComingTheWindowReplacesThePoll) {
    Failures failures;
    failures.pace = Failures::Pace::kTransactionThenNothing;
    EXPECT_EQ(run_with(failures, paced(std::chrono::milliseconds(1))), expected());
    EXPECT_EQ(failures.publishes, static_cast<int>(script().size()));
    EXPECT_EQ(failures.waits_with_more_to_come, 0);
}

// While every window brings events the position is reported at most every
// status_flow_interval; once they stop, at once (status_min_interval 0 here): the first status
// update of the session, then the end, and nothing in between.
TEST(Runner, WhileChangesKeepComingThePositionIsReportedSeldomThenAtTheEnd) {
    Failures failures;
    failures.pace = Failures::Pace::kTransactionThenNothing;
    CdcConfig config = paced(std::chrono::milliseconds(1));
    config.status_min_interval = std::chrono::milliseconds(0);
    config.status_flow_interval = std::chrono::seconds(3600);
    EXPECT_EQ(run_with(failures, config), expected());
    ASSERT_EQ(failures.confirmed_at.size(), 2U);
    EXPECT_EQ(failures.confirmed_at[1].second, script().back().end);
}

// Without a window the loop waits in poll between requests as before.
TEST(Runner, WithoutAWindowTheLoopWaitsForTheNextMessage) {
    Failures failures;
    failures.pace = Failures::Pace::kTransactionThenNothing;
    EXPECT_EQ(run_with(failures, paced(std::chrono::milliseconds(0))), expected());
    EXPECT_GT(failures.waits_with_more_to_come, 0);
}

// A socket emptied in the middle of a transaction whose changes match no rule is read again
// after a short sleep, never by waiting in poll: the rest of the transaction is on its way.
TEST(Runner, AnEmptySocketMidTransactionIsReadAgainWithoutWaiting) {
    Failures failures;
    failures.pace = Failures::Pace::kNothingMidTransaction;
    failures.rules_match = false;
    EXPECT_TRUE(run_with(failures, paced(std::chrono::milliseconds(2)), rules("where = { user_id = -1 }\n")).empty());
    EXPECT_EQ(failures.waits_mid_transaction, 0);
    EXPECT_EQ(failures.publishes, 0);
}

// Every pace delivers every event once and in order, with a failure at any read.
TEST(Runner, EveryPaceDeliversEverythingOnceWithReadFailures) {
    for (const auto pace : {Failures::Pace::kTransactionThenNothing, Failures::Pace::kNothingMidTransaction}) {
        for (int n = 1;; ++n) {
            Failures failures;
            failures.pace = pace;
            failures.read_at = n;
            CdcConfig config = paced(std::chrono::milliseconds(1));
            config.status_min_interval = std::chrono::milliseconds(0);  // short runs
            EXPECT_EQ(run_with(failures, config), expected()) << "read " << n;
            if (failures.reads < n) break;
        }
    }
}

}  // namespace
}  // namespace nudge::cdc
