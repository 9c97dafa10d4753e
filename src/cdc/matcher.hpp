// Matcher: applies the rules to decoded row changes and produces the events to publish.
// Pure and single-threaded: the replication loop owns one.
//
// Rules name tables; pgoutput names them by OID and describes each with a Relation message
// before the first change of that table in a session and again after a schema change
// (ALTER TABLE ... ADD COLUMN). on_relation() (re)binds the rules' column names to positions,
// so a new column is followed mid-stream. A column a rule names that a later Relation no
// longer has reads as NULL (a room from it is skipped), and `dropped_columns()` counts it.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cdc/pgoutput.hpp"
#include "cdc/rules.hpp"

namespace nudge::cdc {

struct OutEvent {
    std::string id;  // set by the Pipeline: slot, commit LSN, index in the transaction
    // Set by the Pipeline: the event's version (issue 22), the first WAL position past the
    // start of its transaction's commit record (see Pipeline).
    std::string version;
    std::string name;
    std::vector<std::string> rooms;
    boost::json::object data;  // the rule's data columns and "lsn"
};

struct MatchStats {
    std::uint64_t no_room = 0;        // a rule matched but every room template read a NULL
    std::uint64_t unknown_relation = 0;  // a change for an OID without its Relation message
    std::uint64_t missing_columns = 0;   // a rule's column absent from the current Relation
    std::uint64_t no_old_row = 0;     // `changed` without an old row: published (never dropped)
};

class Matcher {
public:
    explicit Matcher(Rules rules);

    void on_relation(const Relation& relation);
    // Appends to `out` the events one change produces; `commit_lsn` goes into data.lsn.
    void on_insert(const Insert& insert, Lsn commit_lsn, std::vector<OutEvent>& out);
    void on_update(const Update& update, Lsn commit_lsn, std::vector<OutEvent>& out);
    void on_delete(const Delete& del, Lsn commit_lsn, std::vector<OutEvent>& out);
    void on_truncate(const Truncate& truncate, Lsn commit_lsn, std::vector<OutEvent>& out);

    [[nodiscard]] const MatchStats& stats() const noexcept { return stats_; }

private:
    struct Bound {
        const Rule* rule;
        std::vector<std::optional<std::size_t>> changed, where, data;
        std::vector<std::vector<std::optional<std::size_t>>> rooms;  // per template part
    };
    struct Table {
        Relation relation;
        std::vector<Bound> rules;
    };
    struct Row {
        const Table& table;
        const Tuple* old_row;
        const Tuple* new_row;
    };

    void apply(Operation op, std::uint32_t oid, const Tuple* old_row, const Tuple* new_row,
               char old_kind, Lsn commit_lsn, std::vector<OutEvent>& out);

    Rules rules_;
    std::unordered_map<std::uint32_t, Table> tables_;
    MatchStats stats_;
};

}  // namespace nudge::cdc
