#include "common/digest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace nudge {

namespace {

struct MdCtxFree {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};

template <std::size_t N>
std::array<unsigned char, N> digest(const EVP_MD* md, std::string_view input) {
    thread_local const std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int size = 0;
    if (md == nullptr || !ctx || EVP_DigestInit_ex2(ctx.get(), md, nullptr) != 1 ||
        EVP_DigestUpdate(ctx.get(), input.data(), input.size()) != 1 ||
        EVP_DigestFinal_ex(ctx.get(), out.data(), &size) != 1 || size != N) {
        std::abort();  // cannot happen: both are built into every OpenSSL 3 default provider
    }
    std::array<unsigned char, N> result{};
    std::copy_n(out.begin(), N, result.begin());
    return result;
}

}  // namespace

std::array<unsigned char, 20> sha1(std::string_view input) {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return digest<20>(md, input);
}

std::array<unsigned char, 32> sha256(std::string_view input) {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return digest<32>(md, input);
}

}  // namespace nudge
