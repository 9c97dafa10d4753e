#include "common/base64.hpp"

#include <openssl/evp.h>

namespace nudge {

std::string base64_encode(std::string_view bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()),
                                  static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string base64url_encode(std::string_view bytes) {
    std::string out = base64_encode(bytes);
    while (!out.empty() && out.back() == '=') out.pop_back();
    for (char& c : out) {
        if (c == '+') {
            c = '-';
        } else if (c == '/') {
            c = '_';
        }
    }
    return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
    while (!text.empty() && text.back() == '=') text.remove_suffix(1);
    if (text.size() % 4 == 1) return std::nullopt;
    std::string standard;
    standard.reserve(text.size() + 3);
    for (char c : text) {
        if (c == '-') {
            c = '+';
        } else if (c == '_') {
            c = '/';
        } else if (c == '+' || c == '/') {
            return std::nullopt;  // standard alphabet, not base64url
        }
        standard.push_back(c);
    }
    std::size_t padding = 0;
    while (standard.size() % 4 != 0) {
        standard.push_back('=');
        ++padding;
    }
    std::string out(standard.size() / 4 * 3, '\0');
    // EVP_DecodeBlock rejects characters outside the alphabet (returns -1) and counts the
    // padding as zero bytes, which we trim.
    const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(standard.data()),
                                  static_cast<int>(standard.size()));
    if (n < 0) return std::nullopt;
    out.resize(static_cast<std::size_t>(n) - padding);
    return out;
}

}  // namespace nudge
