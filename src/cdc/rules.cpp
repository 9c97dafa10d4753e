#include "cdc/rules.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <toml++/toml.h>

namespace nudge::cdc {

namespace {

// Rule values are read from a document that may contain anything; each helper returns the
// error text (without the position prefix) or an empty string.
Position position_of(const toml::node& node) {
    const auto& begin = node.source().begin;
    return {begin.line, begin.column};
}

std::string at(std::string_view path, Position where, std::string_view what) {
    return fmt::format("{}:{}:{}: {}", path, where.line, where.column, what);
}

Result<Template, std::string> parse_template(std::string_view text) {
    Template out;
    out.source = std::string(text);
    std::string literal;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
            literal += '{';
            ++i;
        } else if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
            literal += '}';
            ++i;
        } else if (c == '{') {
            const auto close = text.find('}', i);
            if (close == std::string_view::npos) {
                return fail(fmt::format("room template \"{}\" has a '{{' without its '}}' "
                                        "(write {{{{ for a literal brace)", text));
            }
            const auto name = text.substr(i + 1, close - i - 1);
            if (name.empty() || name.find('{') != std::string_view::npos) {
                return fail(fmt::format("room template \"{}\" has an empty or nested {{}}", text));
            }
            if (!literal.empty()) out.parts.push_back({false, std::exchange(literal, {})});
            out.parts.push_back({true, std::string(name)});
            i = close;
        } else if (c == '}') {
            return fail(fmt::format("room template \"{}\" has a '}}' without its '{{' "
                                    "(write }}}} for a literal brace)", text));
        } else {
            literal += c;
        }
    }
    if (!literal.empty()) out.parts.push_back({false, std::move(literal)});
    if (out.parts.empty()) return fail(std::string("a room template must not be empty"));
    return out;
}

// A string array; `what` names the key for the error.
Result<std::vector<std::string>, std::string> string_array(const toml::node& node,
                                                           std::string_view what) {
    const auto* array = node.as_array();
    if (array == nullptr) return fail(fmt::format("{} must be an array of strings", what));
    std::vector<std::string> out;
    for (const auto& item : *array) {
        const auto value = item.value<std::string>();
        if (!value || value->empty()) {
            return fail(fmt::format("{} must be an array of non-empty strings", what));
        }
        out.push_back(*value);
    }
    return out;
}

// pgoutput sends values in their text form; a filter value is compared with that form.
Result<std::optional<std::string>, std::string> filter_value(const toml::node& node) {
    if (const auto* s = node.as_string()) return std::optional<std::string>(s->get());
    if (const auto* i = node.as_integer()) return std::optional<std::string>(std::to_string(i->get()));
    if (const auto* b = node.as_boolean()) return std::optional<std::string>(b->get() ? "t" : "f");
    return fail(std::string("where values must be strings, integers or booleans"));
}

Result<Rule, std::string> parse_rule(const toml::table& table, std::string_view path) {
    Rule rule;
    rule.at = position_of(table);
    auto error = [&](const toml::node& node, std::string_view what) {
        return fail(at(path, position_of(node), what));
    };
    for (const auto& [key, node] : table) {
        const std::string_view name = key.str();
        if (name == "table") {
            const auto value = node.value<std::string>();
            if (!value || value->empty()) return error(node, "table must be a string \"schema.table\"");
            rule.table = qualified_table(*value);
            rule.table_at = position_of(node);
        } else if (name == "on") {
            auto ops = string_array(node, "on");
            if (!ops) return error(node, ops.error());
            for (const auto& op : *ops) {
                if (op == "insert") rule.on |= static_cast<std::uint8_t>(Operation::kInsert);
                else if (op == "update") rule.on |= static_cast<std::uint8_t>(Operation::kUpdate);
                else if (op == "delete") rule.on |= static_cast<std::uint8_t>(Operation::kDelete);
                else if (op == "truncate") rule.on |= static_cast<std::uint8_t>(Operation::kTruncate);
                else return error(node, fmt::format("on: unknown operation \"{}\" (insert, update, delete, truncate)", op));
            }
        } else if (name == "changed") {
            auto columns = string_array(node, "changed");
            if (!columns) return error(node, columns.error());
            rule.changed = std::move(*columns);
            rule.changed_at = position_of(node);
        } else if (name == "where") {
            const auto* filters = node.as_table();
            if (filters == nullptr) return error(node, "where must be a table: where = { column = value }");
            for (const auto& [column, value] : *filters) {
                auto text = filter_value(value);
                if (!text) return error(value, text.error());
                rule.where.emplace_back(std::string(column.str()), std::move(*text));
            }
            rule.where_at = position_of(node);
        } else if (name == "event") {
            const auto value = node.value<std::string>();
            if (!value || value->empty()) return error(node, "event must be a non-empty string");
            rule.event = *value;
        } else if (name == "rooms") {
            auto rooms = string_array(node, "rooms");
            if (!rooms) return error(node, rooms.error());
            for (const auto& room : *rooms) {
                auto parsed = parse_template(room);
                if (!parsed) return error(node, parsed.error());
                rule.rooms.push_back(std::move(*parsed));
            }
            rule.rooms_at = position_of(node);
        } else if (name == "data") {
            auto columns = string_array(node, "data");
            if (!columns) return error(node, columns.error());
            if (std::find(columns->begin(), columns->end(), "lsn") != columns->end()) {
                return error(node, "data: \"lsn\" is reserved (every event carries the commit LSN as data.lsn)");
            }
            rule.data = std::move(*columns);
            rule.data_at = position_of(node);
        } else {
            return error(node, fmt::format("unknown key \"{}\" in a rule (table, on, changed, where, event, rooms, data)", name));
        }
    }
    const auto missing = [&](std::string_view key) {
        return fail(at(path, rule.at, fmt::format("this rule has no {}", key)));
    };
    if (rule.table.empty()) return missing("table");
    if (rule.on == 0) return missing("on = [...] (insert, update, delete, truncate)");
    if (rule.event.empty()) return missing("event");
    if (rule.rooms.empty()) return missing("rooms");
    if (!rule.changed.empty() && !rule.handles(Operation::kUpdate)) {
        return fail(at(path, rule.changed_at, "changed applies to updates only: add \"update\" to on"));
    }
    if (rule.handles(Operation::kTruncate)) {
        // A truncate has no row: its rooms must be plain names and it carries no columns.
        const bool templated = std::any_of(rule.rooms.begin(), rule.rooms.end(), [](const Template& t) {
            return std::any_of(t.parts.begin(), t.parts.end(), [](const auto& p) { return p.column; });
        });
        if (templated || !rule.data.empty() || !rule.where.empty() || !rule.changed.empty()) {
            return fail(at(path, rule.at,
                           "a truncate has no row: give truncate its own rule with plain room "
                           "names and no data, where or changed"));
        }
    }
    return rule;
}

bool contains(const std::vector<std::string>& list, std::string_view name) {
    return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

std::string qualified_table(std::string_view name) {
    if (name.find('.') != std::string_view::npos) return std::string(name);
    return fmt::format("public.{}", name);
}

std::vector<std::string> Rule::columns() const {
    std::vector<std::string> out = changed;
    for (const auto& [column, value] : where) out.push_back(column);
    for (const auto& room : rooms) {
        for (const auto& part : room.parts) {
            if (part.column) out.push_back(part.text);
        }
    }
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

std::vector<std::string> Rules::tables() const {
    std::vector<std::string> out;
    for (const auto& rule : rules) {
        if (!contains(out, rule.table)) out.push_back(rule.table);
    }
    return out;
}

Result<Rules, std::string> parse_rules(std::string_view text, std::string_view path) {
    toml::table document;
    try {
        document = toml::parse(text, path);
    } catch (const toml::parse_error& error) {
        const auto& begin = error.source().begin;
        return fail(fmt::format("{}:{}:{}: {}", path, begin.line, begin.column, error.description()));
    }
    Rules rules;
    rules.path = std::string(path);
    for (const auto& [key, node] : document) {
        if (key.str() != "rule") {
            return fail(at(path, position_of(node),
                           fmt::format("unknown key \"{}\": rules are [[rule]] tables", key.str())));
        }
    }
    const auto* list = document["rule"].as_array();
    if (list == nullptr || list->empty()) {
        return fail(fmt::format("{}:1:1: no [[rule]] tables: nothing to publish", path));
    }
    for (const auto& node : *list) {
        const auto* table = node.as_table();
        if (table == nullptr) return fail(at(path, position_of(node), "rule must be a [[rule]] table"));
        auto rule = parse_rule(*table, path);
        if (!rule) return fail(rule.error());
        rules.rules.push_back(std::move(*rule));
    }
    return rules;
}

Result<void, std::string> check_rules(const Rules& rules, const Catalog& catalog) {
    for (const auto& rule : rules.rules) {
        const auto found = catalog.find(rule.table);
        if (found == catalog.end()) {
            return fail(at(rules.path, rule.table_at,
                           fmt::format("table {} does not exist (or this role cannot see it)", rule.table)));
        }
        const TableInfo& info = found->second;
        const auto unknown = [&](Position where, std::string_view column, std::string_view role) {
            return fail(at(rules.path, where,
                           fmt::format("{} names column \"{}\", which table {} does not have "
                                       "(its columns: {})",
                                       role, column, rule.table, fmt::join(info.columns, ", "))));
        };
        for (const auto& column : rule.changed) {
            if (!contains(info.columns, column)) return unknown(rule.changed_at, column, "changed");
        }
        for (const auto& [column, value] : rule.where) {
            if (!contains(info.columns, column)) return unknown(rule.where_at, column, "where");
        }
        for (const auto& room : rule.rooms) {
            for (const auto& part : room.parts) {
                if (part.column && !contains(info.columns, part.text)) {
                    return unknown(rule.rooms_at, part.text, fmt::format("room template \"{}\"", room.source));
                }
            }
        }
        for (const auto& column : rule.data) {
            if (!contains(info.columns, column)) return unknown(rule.data_at, column, "data");
        }
        if (info.replica_identity == 'f') continue;
        // Without REPLICA IDENTITY FULL, updates carry no old row (so `changed` cannot be
        // decided) and deletes carry only the identity's key columns.
        std::string need;
        if (!rule.changed.empty()) need = fmt::format("changed = [{}] compares old and new values", fmt::join(rule.changed, ", "));
        if (need.empty() && rule.handles(Operation::kDelete)) {
            for (const auto& column : rule.columns()) {
                if (!contains(info.key_columns, column)) {
                    need = fmt::format("a delete reads column \"{}\" of the old row, which is not "
                                       "in the table's replica identity", column);
                    break;
                }
            }
        }
        if (!need.empty()) {
            return fail(at(rules.path, rule.at,
                           fmt::format("the rule on {} needs old values ({}), but the table's "
                                       "REPLICA IDENTITY is not FULL; run: ALTER TABLE {} "
                                       "REPLICA IDENTITY FULL",
                                       rule.table, need, rule.table)));
        }
    }
    return {};
}

}  // namespace nudge::cdc
