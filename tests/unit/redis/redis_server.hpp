// RedisServer: a real redis-server (Debian's, 7.0) started by a test on a random free port and
// killed when the object goes away. Ports are drawn from 20000-50000 (a cluster node also binds
// port + 10000) and retried when taken, so parallel test processes (ctest -j) do not collide.
// Ready means: the process answers INFO with its own process_id (not some other server that
// already held the port).
#pragma once

#include <hiredis/hiredis.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace nudge::redis::test {

class RedisServer {
public:
    // `args`: extra redis-server options ("--requirepass", "pw"); `password`: what the
    // readiness probe authenticates with.
    explicit RedisServer(std::vector<std::string> args = {}, std::string password = {})
        : args_(std::move(args)), password_(std::move(password)) {
        std::string tmpl = (std::filesystem::temp_directory_path() / "nudge-redis-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        std::random_device seed;
        std::mt19937 random(seed());
        std::uniform_int_distribution<int> ports(20000, 50000);
        for (int attempt = 0; attempt < 30; ++attempt) {
            if (try_start(static_cast<std::uint16_t>(ports(random)))) return;
        }
        throw std::runtime_error("could not start redis-server on a free port (see " + dir_ + ")");
    }
    ~RedisServer() {
        kill_now();
        std::error_code ignored;
        std::filesystem::remove_all(dir_, ignored);
    }
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    [[nodiscard]] const std::string& dir() const { return dir_; }
    [[nodiscard]] std::string url(std::string_view userinfo = {}) const {
        return "redis://" + std::string(userinfo) + (userinfo.empty() ? "" : "@") +
               "127.0.0.1:" + std::to_string(port_);
    }

    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGKILL);  // works on a stopped process too
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    void stop() const { ::kill(pid_, SIGSTOP); }
    void resume() const { ::kill(pid_, SIGCONT); }

private:
    bool try_start(std::uint16_t port) {
        std::vector<std::string> argv = {"redis-server",
                                         "--port",
                                         std::to_string(port),
                                         "--bind",
                                         "127.0.0.1",
                                         "--save",
                                         "",
                                         "--appendonly",
                                         "no",
                                         "--daemonize",
                                         "no",
                                         "--dir",
                                         dir_,
                                         "--logfile",
                                         dir_ + "/redis.log"};
        argv.insert(argv.end(), args_.begin(), args_.end());
        const pid_t pid = fork();
        if (pid < 0) throw std::runtime_error("fork failed");
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
            std::vector<char*> c_argv;
            for (auto& arg : argv) c_argv.push_back(arg.data());
            c_argv.push_back(nullptr);
            execvp("redis-server", c_argv.data());
            _exit(127);
        }
        const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < limit) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // port taken: exited
            if (answers_as(pid, port)) {
                pid_ = pid;
                port_ = port;
                return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return false;
    }

    // True when 127.0.0.1:port answers INFO with process_id == pid.
    bool answers_as(pid_t pid, std::uint16_t port) const {
        const timeval timeout{0, 200000};
        const std::unique_ptr<redisContext, decltype(&redisFree)> c(
            redisConnectWithTimeout("127.0.0.1", port, timeout), &redisFree);
        if (!c || c->err != 0) return false;
        if (!password_.empty()) {
            freeReplyObject(redisCommand(c.get(), "AUTH %s", password_.c_str()));
        }
        auto* reply = static_cast<redisReply*>(redisCommand(c.get(), "INFO server"));
        if (reply == nullptr) return false;
        const bool ours =
            reply->type == REDIS_REPLY_STRING &&
            std::string(reply->str, reply->len).find("process_id:" + std::to_string(pid) + "\r") !=
                std::string::npos;
        freeReplyObject(reply);
        return ours;
    }

    std::vector<std::string> args_;
    std::string password_;
    std::string dir_;
    pid_t pid_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace nudge::redis::test
