// Feeds arbitrary client messages to one session::Protocol: Engine.IO and Socket.IO
// decoding, CONNECT payload JSON, JWT parsing and verification, heartbeat ticks. The input
// is split at 0xFF bytes into messages; a message's first byte picks text, binary or tick.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/jwt_verifier.hpp"
#include "session/protocol.hpp"

namespace {

const nudge::auth::JwtVerifier& verifier() {
    static const nudge::auth::JwtVerifier instance = [] {
        nudge::auth::JwtConfig config;
        config.secret = "fuzz-secret";
        return std::move(*nudge::auth::JwtVerifier::create(config));
    }();
    return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using nudge::session::Protocol;
    static const nudge::session::Context context{nudge::session::Config{}, &verifier()};
    const auto t0 = Protocol::Clock::time_point{};
    Protocol protocol(context, t0);
    nudge::session::Effects out;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto elapsed = std::chrono::milliseconds(0);
    while (!input.empty()) {
        const auto cut = input.find('\xff');
        std::string_view message = input.substr(0, cut);
        input.remove_prefix(cut == std::string_view::npos ? input.size() : cut + 1);
        if (message.empty()) continue;
        const char kind = message.front();
        message.remove_prefix(1);
        out.clear();
        if (kind == 't') {
            elapsed += std::chrono::milliseconds(5000);
            // Deterministic wall clock too, so token expiry is reached as time advances.
            protocol.on_tick(t0 + elapsed, std::chrono::system_clock::time_point{} + elapsed, out);
        } else if (kind == 'b') {
            protocol.on_binary(message, out);
        } else {
            protocol.on_text(message, std::chrono::system_clock::time_point{}, out);
        }
        // Invariants: joins only come with an accepted CONNECT; nothing is ever sent empty.
        if (!out.join.empty() && !out.user_id) std::abort();
        for (const auto& packet : out.send) {
            if (packet.empty()) std::abort();
        }
        if (out.close) break;
    }
    return 0;
}
