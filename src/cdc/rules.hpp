// Rules: which committed row changes become which nudge events. Parsed from TOML (toml++),
// then checked against the database's tables. Pure: the catalog is passed in as data.
//
//   [[rule]]
//   table = "public.bank_account"      # schema.table; "bank_account" means public.bank_account
//   on = ["update"]                    # insert, update, delete, truncate
//   changed = ["balance"]              # updates only when one of these columns changed
//   where = { kind = "checking" }      # equality filters on the row (the old row for deletes)
//   event = "balance_updated"
//   rooms = ["user_{user_id}"]         # templates over the row's columns; several allowed
//   data = ["id"]                      # the columns sent, never the whole row
//
// Every error names the file, line and column of the mistake and says what to change.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace nudge::cdc {

enum class Operation : std::uint8_t { kInsert = 1, kUpdate = 2, kDelete = 4, kTruncate = 8 };

// "user_{user_id}": literal text and column references; "{{" and "}}" are literal braces.
struct Template {
    struct Part {
        bool column = false;  // true: `text` is a column name
        std::string text;
    };
    std::vector<Part> parts;
    std::string source;
};

struct Position {
    std::uint32_t line = 0;
    std::uint32_t column = 0;
};

struct Rule {
    std::string table;  // always schema.name
    std::uint8_t on = 0;  // Operation bits
    std::vector<std::string> changed;
    std::vector<std::pair<std::string, std::optional<std::string>>> where;  // text form; nullopt: IS NULL
    std::string event;
    std::vector<Template> rooms;
    std::vector<std::string> data;
    // Where each part was written, for the errors of check_rules.
    Position at, table_at, changed_at, where_at, rooms_at, data_at;

    [[nodiscard]] bool handles(Operation op) const {
        return (on & static_cast<std::uint8_t>(op)) != 0;
    }
    // Every column the rule reads: changed, where, room templates, data.
    [[nodiscard]] std::vector<std::string> columns() const;
};

struct Rules {
    std::string path;  // for error messages
    std::vector<Rule> rules;
    // The schema.table names the rules read, in first-mention order.
    [[nodiscard]] std::vector<std::string> tables() const;
};

// A TOML document of [[rule]] tables. The error is one line: "path:line:column: what is wrong".
[[nodiscard]] Result<Rules, std::string> parse_rules(std::string_view text, std::string_view path);

// What check_rules needs to know of one table.
struct TableInfo {
    std::vector<std::string> columns;
    std::vector<std::string> key_columns;  // the replica identity's columns (default: primary key)
    char replica_identity = 'd';           // pg_class.relreplident: d, n, f, i
};
using Catalog = std::map<std::string, TableInfo, std::less<>>;

// Every table and column a rule names exists; a rule that needs old values (changed, or a
// delete reading a column outside the replica identity) has them. Error: "path:line:column: ...".
[[nodiscard]] Result<void, std::string> check_rules(const Rules& rules, const Catalog& catalog);

// "public.x" for "x"; unchanged when it has a schema.
[[nodiscard]] std::string qualified_table(std::string_view name);

}  // namespace nudge::cdc
