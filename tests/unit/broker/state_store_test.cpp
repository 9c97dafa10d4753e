#include "broker/state_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace nudge::broker {
namespace {

namespace fs = std::filesystem;

// Fails the n-th system call (1-based; 0: none) with EIO, as Beast's fail_count does for streams.
class FailingCalls final : public FileCalls {
public:
    explicit FailingCalls(int fail_at) : fail_at_(fail_at) {}
    int open(const char* path, int flags, mode_t mode) override {
        return fails() ? -1 : FileCalls::open(path, flags, mode);
    }
    ssize_t write(int fd, const void* data, std::size_t size) override {
        // Short writes too: at most 5 bytes per call, so the loop that finishes them runs.
        return fails() ? -1 : FileCalls::write(fd, data, std::min<std::size_t>(size, 5));
    }
    ssize_t read(int fd, void* data, std::size_t size) override {
        return fails() ? -1 : FileCalls::read(fd, data, size);
    }
    int fsync(int fd) override { return fails() ? -1 : FileCalls::fsync(fd); }
    int close(int fd) override {
        // The descriptor is released even when close reports an error (as on Linux).
        const bool fail = fails();
        const int rc = FileCalls::close(fd);
        return fail ? -1 : rc;
    }
    int rename(const char* from, const char* to) override {
        return fails() ? -1 : FileCalls::rename(from, to);
    }
    int unlink(const char* path) override { return fails() ? -1 : FileCalls::unlink(path); }
    [[nodiscard]] bool failed() const { return failed_; }

private:
    bool fails() {
        if (++calls_ != fail_at_) return false;
        failed_ = true;
        errno = EIO;
        return true;
    }
    int fail_at_;
    int calls_ = 0;
    bool failed_ = false;
};

struct StateStoreTest : ::testing::Test {
    fs::path dir;
    void SetUp() override {
        char pattern[] = "/tmp/nudge-state-test-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir = pattern;
    }
    void TearDown() override { fs::remove_all(dir); }
    [[nodiscard]] std::optional<std::string> file() const {
        std::ifstream in(dir / "nudged.state", std::ios::binary);
        if (!in) return std::nullopt;
        std::ostringstream text;
        text << in.rdbuf();
        return text.str();
    }
};

TEST_F(StateStoreTest, SavesThenTakesOnce) {
    StateStore store(dir.string());
    ASSERT_TRUE(store.save("first state").has_value());
    ASSERT_TRUE(store.save("second state").has_value());
    EXPECT_EQ(file(), "second state");
    EXPECT_FALSE(fs::exists(dir / "nudged.state.tmp"));
    const auto taken = store.take();
    ASSERT_TRUE(taken.has_value());
    EXPECT_EQ(*taken, std::optional<std::string>("second state"));
    // Used at most once: a second start (after a kill -9) finds nothing.
    EXPECT_FALSE(fs::exists(dir / "nudged.state"));
    const auto again = store.take();
    ASSERT_TRUE(again.has_value());
    EXPECT_FALSE(again->has_value());
}

TEST_F(StateStoreTest, AFailedSaveAtAnyCallLeavesTheOldFileOrTheNewOneNeverATornOne) {
    const std::string old_state = "the state of the previous stop";
    const std::string new_state(100, 'n');
    int failures = 0;
    for (int n = 1;; ++n) {
        ASSERT_TRUE(StateStore(dir.string()).save(old_state).has_value());
        FailingCalls calls(n);
        const auto saved = StateStore(dir.string(), &calls).save(new_state);
        if (!calls.failed()) {
            ASSERT_TRUE(saved.has_value());
            EXPECT_EQ(file(), new_state);
            break;
        }
        const auto now = file();
        if (saved.has_value()) {
            // Only closing the directory's read-only descriptor may fail unnoticed: harmless.
            EXPECT_EQ(now, new_state) << "call " << n;
            continue;
        }
        ++failures;
        EXPECT_NE(saved.error().find(dir.string()), std::string::npos) << saved.error();
        EXPECT_TRUE(now == old_state || now == new_state) << "call " << n;
        EXPECT_FALSE(fs::exists(dir / "nudged.state.tmp")) << "call " << n;
        ASSERT_LT(n, 1000);
    }
    EXPECT_GT(failures, 20);  // 100 bytes in 5-byte writes: every one of them failed once
}

TEST_F(StateStoreTest, AFailedTakeNeverHandsOutAFileThatStays) {
    for (int n = 1;; ++n) {
        ASSERT_TRUE(StateStore(dir.string()).save("saved").has_value());
        FailingCalls calls(n);
        const auto taken = StateStore(dir.string(), &calls).take();
        if (taken.has_value()) {
            // Used: then it is gone, so a later start cannot use it again.
            EXPECT_EQ(*taken, std::optional<std::string>("saved")) << "call " << n;
            EXPECT_FALSE(file().has_value()) << "call " << n;
        }
        if (!calls.failed()) {
            ASSERT_TRUE(taken.has_value());
            break;
        }
        ASSERT_LT(n, 100);
    }
}

TEST_F(StateStoreTest, ChecksTheDirectory) {
    EXPECT_TRUE(StateStore::check_dir(dir.string()).has_value());
    const auto missing = StateStore::check_dir((dir / "missing").string());
    ASSERT_FALSE(missing.has_value());
    EXPECT_NE(missing.error().find("missing"), std::string::npos);
    std::ofstream(dir / "plain") << "x";
    const auto plain = StateStore::check_dir((dir / "plain").string());
    ASSERT_FALSE(plain.has_value());
    EXPECT_NE(plain.error().find("not a directory"), std::string::npos);
}

}  // namespace
}  // namespace nudge::broker
