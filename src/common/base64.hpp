// Base64 (RFC 4648 §4) and base64url without padding (§5), as used by the WebSocket
// handshake and by JWTs. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace nudge {

[[nodiscard]] std::string base64_encode(std::string_view bytes);
[[nodiscard]] std::string base64url_encode(std::string_view bytes);
// Accepts base64url with or without '=' padding; nullopt on any character outside the
// alphabet or an impossible length.
[[nodiscard]] std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace nudge
