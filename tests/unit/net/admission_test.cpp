#include "net/admission.hpp"

#include <gtest/gtest.h>

namespace nudge::net {
namespace {

using namespace std::chrono_literals;
const auto kA = boost::asio::ip::make_address("127.0.0.2");
const auto kB = boost::asio::ip::make_address("::1");

TEST(Admission, OffByDefaultTracksNothing) {
    Admission admission;
    std::uint32_t key = 7;
    for (int i = 0; i < 1000; ++i) EXPECT_EQ(admission.admit(kA, key), Admission::Verdict::kAdmitted);
    EXPECT_EQ(key, 0U);
    EXPECT_EQ(admission.open_from(kA), 0U);
}

TEST(Admission, PerAddressLimitCountsOpenConnections) {
    Admission admission(AdmissionConfig{2, 0});
    std::uint32_t k1 = 0, k2 = 0, k3 = 0, kb = 0;
    EXPECT_EQ(admission.admit(kA, k1), Admission::Verdict::kAdmitted);
    EXPECT_EQ(admission.admit(kA, k2), Admission::Verdict::kAdmitted);
    EXPECT_EQ(admission.admit(kA, k3), Admission::Verdict::kTooManyFromAddress);
    EXPECT_EQ(admission.admit(kB, kb), Admission::Verdict::kAdmitted);  // other address
    EXPECT_EQ(admission.open_from(kA), 2U);
    admission.release(k1);
    EXPECT_EQ(admission.admit(kA, k3), Admission::Verdict::kAdmitted);
    admission.release(k2);
    admission.release(k3);
    admission.release(kb);
    EXPECT_EQ(admission.open_from(kA), 0U);
    admission.release(0);  // "not tracked" is a no-op
}

TEST(Admission, ConnectRateIsATokenBucket) {
    Admission admission(AdmissionConfig{0, 10});
    const auto t0 = Admission::Clock::now();
    std::uint32_t key = 0;
    int admitted = 0;
    for (int i = 0; i < 25; ++i) admitted += admission.admit(kA, key, t0) == Admission::Verdict::kAdmitted;
    EXPECT_EQ(admitted, 10);  // the burst
    EXPECT_EQ(admission.admit(kA, key, t0 + 50ms), Admission::Verdict::kRateLimited);
    EXPECT_EQ(admission.admit(kA, key, t0 + 100ms), Admission::Verdict::kAdmitted);  // one token back
    admitted = 0;
    for (int i = 0; i < 25; ++i) admitted += admission.admit(kA, key, t0 + 10s) == Admission::Verdict::kAdmitted;
    EXPECT_EQ(admitted, 10);  // refilled to the burst, not beyond
}

}  // namespace
}  // namespace nudge::net
