#include "cdc/startup.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <sstream>

namespace nudge::cdc {

Result<Prepared, std::string> prepare(const CdcConfig& config) {
    std::ifstream in(config.rules_file, std::ios::binary);
    if (!in) return fail(fmt::format("cannot read the rules file {}", config.rules_file));
    std::ostringstream text;
    text << in.rdbuf();
    auto rules = parse_rules(text.str(), config.rules_file);
    if (!rules) return fail(rules.error());

    auto catalog = PgCatalog::connect(config.postgres);
    if (!catalog) return fail(catalog.error().message);
    const auto tables = rules->tables();
    auto schema = catalog->tables(tables);
    if (!schema) return fail(schema.error().message);
    if (auto checked = check_rules(*rules, *schema); !checked) return fail(checked.error());

    // The replication login before anything is created: a role without REPLICATION is told
    // so here, not after a publication was made for it.
    auto stream = ReplicationStream::connect(config.postgres);
    if (!stream) return fail(stream.error().message);

    const bool create = !config.check_config;
    if (auto published = catalog->ensure_publication(config.publication, tables, create); !published) {
        return fail(published.error().message);
    }
    auto slot = catalog->slot_exists(config.slot);
    if (!slot) return fail(slot.error().message);
    std::string slot_state = *slot ? "exists" : "missing";
    if (!*slot && create) {
        if (auto made = stream->create_slot(config.slot); !made) return fail(made.error().message);
        slot_state = "created";
    }
    Prepared prepared{std::move(*rules), std::move(*stream), {}};
    prepared.summary = fmt::format(
        "{} rules on {}; publication \"{}\"; slot \"{}\" ({}); hub {}", prepared.rules.rules.size(),
        fmt::join(tables, ", "), config.publication, config.slot,
        *slot || create ? slot_state : "missing: created at start", config.hub);
    return prepared;
}

}  // namespace nudge::cdc
