// Unpredictable identifiers (Engine.IO sid, Socket.IO sid/pid) from OpenSSL's CSPRNG.
// Thread-safe: RAND_bytes may be called from any thread.
#pragma once

#include <string>

namespace nudge {

// 20 characters of base64url (120 random bits), the same shape as Socket.IO's ids.
[[nodiscard]] std::string random_id();

}  // namespace nudge
