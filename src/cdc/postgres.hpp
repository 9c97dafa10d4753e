// The Postgres side of nudge-cdc over libpq: the catalog the rules are checked against, the
// publication and slot (created when missing), and the replication stream.
//
// Errors are sentences for a person ("nudge-cdc: ..." is added by the caller) and say what to
// do; `fatal` marks those a retry cannot cure (a wrong password, a missing privilege), which
// exit 2 at start. Not thread-safe: one thread owns each object.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cdc/change_source.hpp"
#include "cdc/pgoutput.hpp"
#include "cdc/rules.hpp"
#include "common/result.hpp"

namespace nudge::cdc {

struct PgConnDeleter {
    void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

// Where the URL points, without its password: "user@host:port/db".
[[nodiscard]] std::string describe_target(PGconn* conn);

// A plain SQL connection for the catalog and the setup.
class PgCatalog {
public:
    [[nodiscard]] static Result<PgCatalog, PgError> connect(const std::string& url);

    // The tables the rules name (columns, replica identity keys, identity kind).
    [[nodiscard]] Result<cdc::Catalog, PgError> tables(const std::vector<std::string>& names);
    // The publication exists and publishes every one of `tables`: created or extended when
    // not (with `create` false, a missing publication or table is an error instead).
    [[nodiscard]] Result<void, PgError> ensure_publication(const std::string& publication,
                                                           const std::vector<std::string>& tables,
                                                           bool create);
    // The logical slot exists and uses pgoutput on this database; false when missing.
    [[nodiscard]] Result<bool, PgError> slot_exists(const std::string& slot);

private:
    explicit PgCatalog(PgConn conn) : conn_(std::move(conn)) {}
    PgConn conn_;
};

// The walsender connection (replication=database) streaming the slot.
class ReplicationStream final : public ChangeStream {
public:
    [[nodiscard]] static Result<ReplicationStream, PgError> connect(const std::string& url);

    [[nodiscard]] Result<void, PgError> create_slot(const std::string& slot);
    // START_REPLICATION from the slot's confirmed position, pgoutput protocol 1.
    [[nodiscard]] Result<void, PgError> start(const std::string& slot,
                                              const std::string& publication) override;

    // The next CopyData message, waiting at most `wait`; nullopt when none arrived in time.
    // The span is valid until the next call. An error means the connection is gone.
    [[nodiscard]] Result<std::optional<std::span<const std::uint8_t>>, PgError> read(
        std::chrono::milliseconds wait) override;
    // What libpq has already received (PQgetCopyData in async mode reads no socket).
    [[nodiscard]] Result<std::optional<std::span<const std::uint8_t>>, PgError> read_buffered() override;
    // Sends a standby status update confirming `flushed` (everything before it is done).
    [[nodiscard]] Result<void, PgError> confirm(Lsn flushed) override;

    ReplicationStream(ReplicationStream&&) noexcept = default;
    ReplicationStream& operator=(ReplicationStream&&) noexcept = default;
    ReplicationStream(const ReplicationStream&) = delete;
    ReplicationStream& operator=(const ReplicationStream&) = delete;
    ~ReplicationStream() override;

private:
    explicit ReplicationStream(PgConn conn) : conn_(std::move(conn)) {}
    PgConn conn_;
    char* buffer_ = nullptr;  // the last message, owned by libpq (PQfreemem)
};

}  // namespace nudge::cdc
