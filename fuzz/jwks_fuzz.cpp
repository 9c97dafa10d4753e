// Arbitrary JWKS documents (what an identity provider, or whoever answers at its URL, serves):
// parse_jwks must never crash, and whatever it accepts is a usable, uniquely named key set.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "auth/jwks.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view document(reinterpret_cast<const char*>(data), size);
    auto parsed = nudge::auth::parse_jwks(document);
    if (!parsed) {
        if (parsed.error().empty()) std::abort();
        return 0;
    }
    if (parsed->keys.empty() || parsed->keys.size() > nudge::auth::kMaxJwksKeys) std::abort();
    std::set<std::string_view> kids;
    for (const auto& key : parsed->keys) {
        if (key.kid.empty() || !key.key || !kids.insert(key.kid).second) std::abort();
    }
    return 0;
}
