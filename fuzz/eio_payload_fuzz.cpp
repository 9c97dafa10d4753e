// libFuzzer target for the Engine.IO long-polling payload codec (eio/payload.hpp).
//
// Input: an HTTP POST body, decoded as the hub decodes it. Properties checked on every
// input: a decoded body is never empty; text packets start with a type digit and contain no
// record separator; re-encoding the decoded packets gives back a body that decodes to the
// same packets (binary packets round-trip through base64). Every input lives in an exactly
// sized heap buffer, so ASan catches a read past the body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "eio/payload.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto body = std::make_unique<char[]>(size);
    std::copy_n(reinterpret_cast<const char*>(data), size, body.get());
    const auto decoded = nudge::eio::decode_payload(std::string_view(body.get(), size), 64);
    if (!decoded) return 0;
    if (decoded->empty()) std::abort();
    std::string again;
    for (const auto& packet : *decoded) {
        if (packet.binary) {
            nudge::eio::append_binary_packet(again, packet.data);
            continue;
        }
        if (packet.data.empty() || packet.data.front() < '0' || packet.data.front() > '6')
            std::abort();
        if (packet.data.find(nudge::eio::kRecordSeparator) != std::string::npos) std::abort();
        nudge::eio::append_text_packet(again, packet.data);
    }
    const auto round = nudge::eio::decode_payload(again, 64);
    if (!round || round->size() != decoded->size()) std::abort();
    for (std::size_t i = 0; i < round->size(); ++i) {
        if ((*round)[i].binary != (*decoded)[i].binary || (*round)[i].data != (*decoded)[i].data) {
            std::abort();
        }
    }
    return 0;
}
