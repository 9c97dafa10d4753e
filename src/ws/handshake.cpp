#include "ws/handshake.hpp"

#include <cstdlib>

#include "common/base64.hpp"
#include "common/digest.hpp"

namespace nudge::ws {
namespace {

// §1.3, §4.2.2: the GUID appended to the client's key.
constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

// True when the comma-separated list `list` (RFC 9110 §5.6.1, whitespace around elements
// allowed) has an element equal to `token`, ignoring case.
bool has_token(std::string_view list, std::string_view token) noexcept {
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view element = list.substr(0, comma);
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        while (!element.empty() && (element.front() == ' ' || element.front() == '\t')) {
            element.remove_prefix(1);
        }
        while (!element.empty() && (element.back() == ' ' || element.back() == '\t')) {
            element.remove_suffix(1);
        }
        if (iequals(element, token)) return true;
    }
    return false;
}

bool is_base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// §4.2.1 item 5: the key is base64 (RFC 4648 §4, padded) of 16 bytes, which is always 22
// alphabet characters followed by "==".
bool is_valid_key(std::string_view key) noexcept {
    if (key.size() != 24 || key.substr(22) != "==") return false;
    for (char c : key.substr(0, 22)) {
        if (!is_base64_char(c)) return false;
    }
    return true;
}

}  // namespace

std::string_view message(HandshakeError error) noexcept {
    switch (error) {
        case HandshakeError::kNotGet:
            return "WebSocket upgrade must use GET";
        case HandshakeError::kNotUpgrade:
            return "missing Upgrade: websocket or Connection: upgrade";
        case HandshakeError::kBadKey:
            return "Sec-WebSocket-Key is not base64 of 16 bytes";
        case HandshakeError::kBadVersion:
            return "unsupported Sec-WebSocket-Version (only 13)";
    }
    std::abort();  // cannot happen: every enumerator is handled above
}

std::string accept_key(std::string_view key) {
    std::string input;
    input.reserve(key.size() + kAcceptGuid.size());
    input.append(key);
    input.append(kAcceptGuid);
    const auto digest = sha1(input);
    return base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

Result<std::string, HandshakeError> check_upgrade(const UpgradeRequest& request) {
    // §4.2.1: the checks a server makes on the client's opening handshake.
    if (request.method != "GET") return fail(HandshakeError::kNotGet);
    if (!has_token(request.upgrade, "websocket")) return fail(HandshakeError::kNotUpgrade);
    if (!has_token(request.connection, "upgrade")) return fail(HandshakeError::kNotUpgrade);
    if (!is_valid_key(request.key)) return fail(HandshakeError::kBadKey);
    if (request.version != "13") return fail(HandshakeError::kBadVersion);
    return accept_key(request.key);
}

}  // namespace nudge::ws
