#include "common/random_id.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstdlib>

#include "common/base64.hpp"

namespace nudge {

std::string random_id() {
    std::array<unsigned char, 15> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        // A CSPRNG that cannot produce bytes is not something to serve through.
        std::abort();
    }
    return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

}  // namespace nudge
