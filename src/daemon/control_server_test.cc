#include "daemon/control_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace qc::daemon {
namespace {

// A server on its own loop thread, answered by the blocking client the CLI uses.
class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("qc-control-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    server_ = std::make_unique<ControlServer>(io_, (dir_ / "control.sock").string());
    server_->handle("echo", [](const nlohmann::json& req, ControlServer::Reply reply) {
      int n = req.value("n", 0);  // throws on a non-number: the server must answer, not die
      reply({{"n", n + 1}});
    });
    server_->handle("later", [this](const nlohmann::json&, ControlServer::Reply reply) {
      asio::post(io_, [reply] { reply({{"late", true}}); });
    });
    ASSERT_TRUE(server_->start());
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  void TearDown() override {
    asio::post(io_, [this] {
      server_->stop();
      io_.stop();
    });
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  std::string path() const { return (dir_ / "control.sock").string(); }

  std::filesystem::path dir_;
  asio::io_context io_;
  std::unique_ptr<ControlServer> server_;
  std::thread thread_;
};

TEST_F(ControlServerTest, AnswersCommands) {
  auto r = control_request(path(), {{"cmd", "echo"}, {"n", 41}});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ((*r)["n"], 42);
  EXPECT_EQ((*r)["ok"], true);
  auto late = control_request(path(), {{"cmd", "later"}});
  ASSERT_TRUE(late);
  EXPECT_EQ((*late)["late"], true);
}

TEST_F(ControlServerTest, BadRequestsGetErrorsAndTheServerKeepsAnswering) {
  auto unknown = control_request(path(), {{"cmd", "nope"}});
  ASSERT_TRUE(unknown);
  EXPECT_EQ((*unknown)["ok"], false);
  EXPECT_NE((*unknown)["error"].get<std::string>().find("unknown command"), std::string::npos);
  auto no_cmd = control_request(path(), {{"x", 1}});
  ASSERT_TRUE(no_cmd);
  EXPECT_EQ((*no_cmd)["ok"], false);
  auto wrong_type = control_request(path(), {{"cmd", "echo"}, {"n", "not a number"}});
  ASSERT_TRUE(wrong_type);
  EXPECT_EQ((*wrong_type)["ok"], false);
  EXPECT_NE((*wrong_type)["error"].get<std::string>().find("bad request"), std::string::npos);
  auto ok = control_request(path(), {{"cmd", "echo"}, {"n", 1}});
  ASSERT_TRUE(ok);
  EXPECT_EQ((*ok)["n"], 2);
}

TEST_F(ControlServerTest, SecondServerOnTheSameSocketIsRefused) {
  asio::io_context other;
  ControlServer second(other, path());
  auto r = second.start();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kExists);
}

TEST(ControlRequest, NoNodeIsAClearError) {
  auto r = control_request("/nonexistent/qc/control.sock", {{"cmd", "status"}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("is `qc node` running"), std::string::npos);
}

}  // namespace
}  // namespace qc::daemon
