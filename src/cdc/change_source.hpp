// The two seams of the Runner, so its exactly-once bookkeeping is tested with failures
// injected at every step (Beast's test::fail_count model): where changes come from
// (ChangeStream: ReplicationStream in production) and where events go (EventSink: the C++
// emitter in production). Implementations are used from the Runner's thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nudge/emitter.hpp>

#include "cdc/pgoutput.hpp"
#include "common/result.hpp"

namespace nudge::cdc {

struct PgError {
    std::string message;
    bool fatal = false;  // configuration or privileges: retrying the same thing cannot help
};

class ChangeStream {
public:
    virtual ~ChangeStream() = default;
    // START_REPLICATION from the slot's confirmed position.
    [[nodiscard]] virtual Result<void, PgError> start(const std::string& slot,
                                                      const std::string& publication) = 0;
    // The next CopyData message, waiting at most `wait`; nullopt when none arrived in time.
    // With `wait` 0 it is one receive without waiting when nothing is buffered. The span is
    // valid until the next call. An error means the connection is gone.
    [[nodiscard]] virtual Result<std::optional<std::span<const std::uint8_t>>, PgError> read(
        std::chrono::milliseconds wait) = 0;
    // The next message already received, without a system call; nullopt when none is
    // complete in the buffer. Same span and error rules as read().
    [[nodiscard]] virtual Result<std::optional<std::span<const std::uint8_t>>, PgError>
    read_buffered() = 0;
    // Confirms `flushed` (everything before it is done) to the server.
    [[nodiscard]] virtual Result<void, PgError> confirm(Lsn flushed) = 0;
};

// Opens a new connection after the previous one failed.
using ChangeStreamFactory = std::function<Result<std::unique_ptr<ChangeStream>, PgError>()>;

class EventSink {
public:
    virtual ~EventSink() = default;
    // Every event accepted, in order, or the error (EmitError::kind says whether to retry).
    [[nodiscard]] virtual EmitResult publish(const std::vector<Event>& events) = 0;
};

// The production sink: one nudge::Emitter (its own retries off; the Runner retries).
class EmitterSink final : public EventSink {
public:
    explicit EmitterSink(Emitter emitter) : emitter_(std::move(emitter)) {}
    [[nodiscard]] EmitResult publish(const std::vector<Event>& events) override {
        return emitter_.emit_batch(events);
    }

private:
    Emitter emitter_;
};

}  // namespace nudge::cdc
