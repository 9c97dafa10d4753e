#include "cdc/matcher.hpp"

#include <boost/json/parse.hpp>
#include <charconv>
#include <cmath>

namespace nudge::cdc {

namespace {

// Postgres type OIDs (pg_type.dat) whose text form maps onto a JSON scalar.
constexpr std::uint32_t kBool = 16;
constexpr std::uint32_t kInt8 = 20;
constexpr std::uint32_t kInt2 = 21;
constexpr std::uint32_t kInt4 = 23;
constexpr std::uint32_t kOid = 26;
constexpr std::uint32_t kFloat4 = 700;
constexpr std::uint32_t kFloat8 = 701;
constexpr std::uint32_t kJson = 114;
constexpr std::uint32_t kJsonb = 3802;

// Integers and booleans become JSON numbers and booleans; json/jsonb stay JSON; everything
// else (numeric included, whose precision a double would lose) is sent as its text.
boost::json::value to_json(const std::string& text, std::uint32_t type) {
    switch (type) {
        case kBool: return text == "t";
        case kInt2:
        case kInt4:
        case kInt8:
        case kOid: {
            std::int64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec == std::errc{} && end == text.data() + text.size()) return value;
            return boost::json::string(text);
        }
        case kFloat4:
        case kFloat8: {
            double value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec == std::errc{} && end == text.data() + text.size() && std::isfinite(value)) return value;
            return boost::json::string(text);  // NaN, Infinity: not JSON numbers
        }
        case kJson:
        case kJsonb: {
            boost::system::error_code ec;
            auto value = boost::json::parse(text, ec);
            if (!ec) return value;
            return boost::json::string(text);
        }
        default: return boost::json::string(text);
    }
}

std::optional<std::size_t> index_of(const Relation& relation, const std::string& column) {
    for (std::size_t i = 0; i < relation.columns.size(); ++i) {
        if (relation.columns[i].name == column) return i;
    }
    return std::nullopt;
}

// The value of column `i` of the row an event describes: the new row, or for a value the
// new tuple does not carry (unchanged TOAST) the old row's, or the old row for deletes.
const Datum* value_at(const Tuple* primary, const Tuple* fallback, std::size_t i) {
    if (primary != nullptr && i < primary->size() && (*primary)[i].kind != Datum::Kind::kUnchangedToast) {
        return &(*primary)[i];
    }
    if (fallback != nullptr && i < fallback->size() && (*fallback)[i].kind != Datum::Kind::kUnchangedToast) {
        return &(*fallback)[i];
    }
    return nullptr;
}

}  // namespace

Matcher::Matcher(Rules rules) : rules_(std::move(rules)) {}

void Matcher::on_relation(const Relation& relation) {
    Table table{relation, {}};
    const std::string name = relation.schema + "." + relation.name;
    for (const auto& rule : rules_.rules) {
        if (rule.table != name) continue;
        Bound bound{&rule, {}, {}, {}, {}};
        for (const auto& column : rule.changed) bound.changed.push_back(index_of(relation, column));
        for (const auto& [column, value] : rule.where) bound.where.push_back(index_of(relation, column));
        for (const auto& column : rule.data) bound.data.push_back(index_of(relation, column));
        for (const auto& room : rule.rooms) {
            auto& parts = bound.rooms.emplace_back();
            for (const auto& part : room.parts) {
                parts.push_back(part.column ? index_of(relation, part.text) : std::nullopt);
            }
        }
        table.rules.push_back(std::move(bound));
    }
    tables_.insert_or_assign(relation.oid, std::move(table));
}

void Matcher::on_insert(const Insert& insert, Lsn commit_lsn, std::vector<OutEvent>& out) {
    apply(Operation::kInsert, insert.relation, nullptr, &insert.new_tuple, 0, commit_lsn, out);
}

void Matcher::on_update(const Update& update, Lsn commit_lsn, std::vector<OutEvent>& out) {
    apply(Operation::kUpdate, update.relation, update.old_kind == 0 ? nullptr : &update.old_tuple,
          &update.new_tuple, update.old_kind, commit_lsn, out);
}

void Matcher::on_delete(const Delete& del, Lsn commit_lsn, std::vector<OutEvent>& out) {
    apply(Operation::kDelete, del.relation, &del.old_tuple, nullptr, del.old_kind, commit_lsn, out);
}

void Matcher::on_truncate(const Truncate& truncate, Lsn commit_lsn, std::vector<OutEvent>& out) {
    for (const auto oid : truncate.relations) {
        apply(Operation::kTruncate, oid, nullptr, nullptr, 0, commit_lsn, out);
    }
}

void Matcher::apply(Operation op, std::uint32_t oid, const Tuple* old_row, const Tuple* new_row,
                    char old_kind, Lsn commit_lsn, std::vector<OutEvent>& out) {
    const auto found = tables_.find(oid);
    if (found == tables_.end()) {
        ++stats_.unknown_relation;  // Postgres always sends the Relation first; count if not
        return;
    }
    const Table& table = found->second;
    // Deletes describe the old row; inserts and updates the new one.
    const Tuple* primary = op == Operation::kDelete ? old_row : new_row;
    const Tuple* fallback = op == Operation::kDelete ? nullptr : old_row;
    for (const auto& bound : table.rules) {
        const Rule& rule = *bound.rule;
        if (!rule.handles(op)) continue;
        bool missing = false;
        if (op == Operation::kUpdate && !bound.changed.empty()) {
            if (old_kind != 'O') {
                // No old row (REPLICA IDENTITY changed since the start check): whether a
                // column changed is unknown, so publish rather than lose the event.
                ++stats_.no_old_row;
            } else {
                bool any = false;
                for (const auto& index : bound.changed) {
                    if (!index) { missing = true; continue; }
                    const auto i = *index;
                    if (i >= new_row->size() || i >= old_row->size()) continue;
                    const Datum& now = (*new_row)[i];
                    // An unchanged TOASTed value is, by definition, unchanged.
                    if (now.kind == Datum::Kind::kUnchangedToast) continue;
                    if (!(now == (*old_row)[i])) { any = true; break; }
                }
                if (!any) {
                    if (missing) ++stats_.missing_columns;
                    continue;
                }
            }
        }
        bool matches = true;
        for (std::size_t w = 0; w < bound.where.size() && matches; ++w) {
            const auto& expected = rule.where[w].second;
            const Datum* value = bound.where[w] ? value_at(primary, fallback, *bound.where[w]) : nullptr;
            if (!bound.where[w]) missing = true;
            const bool is_null = value == nullptr || value->kind == Datum::Kind::kNull;
            matches = expected ? (!is_null && value->text == *expected) : is_null;
        }
        if (!matches) continue;
        OutEvent event;
        event.name = rule.event;
        for (std::size_t r = 0; r < rule.rooms.size(); ++r) {
            std::string room;
            bool ok = true;
            const auto& parts = rule.rooms[r].parts;
            for (std::size_t p = 0; p < parts.size() && ok; ++p) {
                if (!parts[p].column) {
                    room += parts[p].text;
                    continue;
                }
                const auto& index = bound.rooms[r][p];
                const Datum* value = index ? value_at(primary, fallback, *index) : nullptr;
                if (!index) missing = true;
                ok = value != nullptr && value->kind == Datum::Kind::kText;
                if (ok) room += value->text;
            }
            // A NULL in a room template means the row belongs to no such room.
            if (ok && std::find(event.rooms.begin(), event.rooms.end(), room) == event.rooms.end()) {
                event.rooms.push_back(std::move(room));
            }
        }
        if (missing) ++stats_.missing_columns;
        if (event.rooms.empty()) {
            ++stats_.no_room;
            continue;
        }
        event.data.reserve(rule.data.size() + 1);  // one table allocation, not one per growth
        for (std::size_t d = 0; d < rule.data.size(); ++d) {
            const auto& index = bound.data[d];
            const Datum* value = index ? value_at(primary, fallback, *index) : nullptr;
            if (value == nullptr) continue;  // not sent (unchanged TOAST without an old row)
            event.data[rule.data[d]] = value->kind == Datum::Kind::kNull
                                           ? boost::json::value(nullptr)
                                           : to_json(value->text, table.relation.columns[*index].type_oid);
        }
        event.data["lsn"] = format_lsn(commit_lsn);
        out.push_back(std::move(event));
    }
}

}  // namespace nudge::cdc
