// libFuzzer target for the pgoutput decoder and the Pipeline behind it (src/cdc/).
//
// Input: a sequence of messages, each a 2-byte big-endian length then that many bytes (a
// length past the end takes the rest). Each message is decoded twice: as the walsender
// envelope and as a pgoutput message, each from its own exactly-sized heap copy so ASan sees
// any read past it; every decoded message is fed to a Pipeline with rules over the golden
// table `public.account`, whose events must stay within the batch bound. Decoding must be
// deterministic and never crash.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "cdc/pgoutput.hpp"
#include "cdc/pipeline.hpp"

namespace {

using namespace nudge::cdc;

constexpr std::string_view kRules = R"(
[[rule]]
table = "public.account"
on = ["insert", "update", "delete"]
where = { flag = true }
event = "e"
rooms = ["user_{user_id}", "n_{note}"]
data = ["id", "balance", "note", "flag"]

[[rule]]
table = "public.account"
on = ["update"]
changed = ["balance"]
event = "b"
rooms = ["u_{user_id}"]

[[rule]]
table = "public.account"
on = ["truncate"]
event = "t"
rooms = ["all"]
)";

Rules fuzz_rules() {
    auto rules = parse_rules(kRules, "fuzz.toml");
    if (!rules) std::abort();
    return *rules;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Rules rules = fuzz_rules();
    constexpr std::size_t kBatch = 8;
    Pipeline pipeline(rules, "f:", kBatch);
    std::span<const std::uint8_t> input(data, size);
    while (input.size() >= 2) {
        std::size_t length = (static_cast<std::size_t>(input[0]) << 8U) | input[1];
        input = input.subspan(2);
        length = std::min(length, input.size());
        auto copy = std::make_unique<std::uint8_t[]>(length);
        std::copy_n(input.data(), length, copy.get());
        const std::span<const std::uint8_t> message(copy.get(), length);
        input = input.subspan(length);

        auto envelope = decode_stream(message);
        auto again = decode_stream(message);
        if (envelope.has_value() != again.has_value()) std::abort();
        if (envelope && std::holds_alternative<XLogData>(*envelope)) {
            if (std::get<XLogData>(*envelope).payload.size() + 25 != length) std::abort();
        }
        const auto first = decode_message(message);
        const auto second = decode_message(message);
        if (first.has_value() != second.has_value()) std::abort();
        if (!first && second.error() != first.error()) std::abort();
        if (pipeline.feed(message).has_value() != first.has_value()) std::abort();
        if (pipeline.pending().size() > kBatch) std::abort();
        for (const auto& event : pipeline.pending()) {
            if (event.rooms.empty() || !event.data.contains("lsn")) std::abort();
        }
        if (pipeline.batch_full()) (void)pipeline.published();
    }
    return 0;
}
