// What nudge-cdc checks and sets up before streaming, in order: the rules file parses; the
// database is reachable with the given login; every table and column the rules name exists and
// has the replica identity the rules need; the role may use replication; the publication and
// the slot exist (created when missing, unless only checking). Every failure is a sentence for
// the operator and exit status 2.
#pragma once

#include <optional>
#include <string>

#include "cdc/cdc_config.hpp"
#include "cdc/postgres.hpp"
#include "cdc/rules.hpp"

namespace nudge::cdc {

struct Prepared {
    Rules rules;
    std::optional<ReplicationStream> stream;  // connected, not yet started
    std::string summary;  // for --check-config and the start log line
};

[[nodiscard]] Result<Prepared, std::string> prepare(const CdcConfig& config);

}  // namespace nudge::cdc
