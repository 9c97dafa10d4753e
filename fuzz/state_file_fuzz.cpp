// Fuzzes the embedded broker's state file reader (broker/state_file.hpp). The input is used
// twice: as a whole file, and as a body wrapped in a valid header and checksum (random bytes
// would almost never get past the SHA-256, and the body's parser is what must hold). Never
// crash, and a file that decodes must encode back to the same bytes.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "broker/state_file.hpp"

namespace {

void check(std::string_view file) {
    const auto decoded = nudge::broker::decode_state(file);
    if (!decoded) return;
    if (nudge::broker::encode_state(decoded->state, decoded->written_unix_ms) != file) std::abort();
}

void put(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check(input);
    std::string file = "NUDGESTF";
    put(file, nudge::broker::kStateFormatVersion, 4);
    put(file, 1'700'000'000'000, 8);
    put(file, size, 8);
    file.append(input);
    unsigned char digest[32];
    unsigned int digest_size = 0;
    if (EVP_Digest(file.data(), file.size(), digest, &digest_size, EVP_sha256(), nullptr) != 1) return 0;
    file.append(reinterpret_cast<const char*>(digest), sizeof digest);
    check(file);
    return 0;
}
