// StateStore: the embedded broker's state file on disk, `<dir>/nudged.state`. Written once at
// a graceful stop, read and removed once at start. Not thread-safe (main() calls it before the
// workers start and after they stop).
//
// - save: writes `<dir>/nudged.state.tmp`, fsyncs it, renames it over `nudged.state` and fsyncs
//   the directory, so a crash at any point leaves either no file or a whole one (never a torn
//   one, which the checksum would catch anyway).
// - take: reads the file and removes it (and fsyncs the directory) before the broker serves
//   anything. A state is used at most once: after a `kill -9` the next start finds no file and
//   starts a new epoch, instead of reusing positions the killed process had handed out since.
//   If the file cannot be removed it is not used.
// Every system call goes through FileCalls, so tests fail the n-th one (Boost.Beast's
// fail_count pattern) and check that no failure leaves a torn or reusable file.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace nudge::broker {

class FileCalls {
public:
    virtual ~FileCalls() = default;
    virtual int open(const char* path, int flags, mode_t mode);
    virtual ssize_t write(int fd, const void* data, std::size_t size);
    virtual ssize_t read(int fd, void* data, std::size_t size);
    virtual int fsync(int fd);
    virtual int close(int fd);
    virtual int rename(const char* from, const char* to);
    virtual int unlink(const char* path);
};

class StateStore {
public:
    explicit StateStore(std::string dir, FileCalls* calls = nullptr);

    // Error: a message naming the file and the system's reason.
    [[nodiscard]] Result<void, std::string> save(std::string_view bytes);
    // The file's bytes, or nullopt when there is none; an error when it exists but cannot be
    // read or removed (then it must not be used).
    [[nodiscard]] Result<std::optional<std::string>, std::string> take();
    // Whether `dir` is a directory this process may write (checked at startup).
    [[nodiscard]] static Result<void, std::string> check_dir(const std::string& dir);

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    Result<void, std::string> sync_dir();

    std::string dir_;
    std::string path_;
    std::string tmp_path_;
    FileCalls default_calls_;
    FileCalls* calls_;
};

}  // namespace nudge::broker
