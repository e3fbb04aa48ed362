#include "discovery/interface.h"

#include <gtest/gtest.h>

namespace qc::discovery {
namespace {

Interface eth(std::string name) {
  Interface i;
  i.name = std::move(name);
  i.index = 2;
  i.up = true;
  i.broadcast = asio::ip::make_address_v4("10.0.0.255");
  i.ipv4 = asio::ip::make_address_v4("10.0.0.1");
  return i;
}

TEST(Interface, StableIdIsAFunctionOfNameAndMac) {
  const Bytes mac{0x02, 0, 0, 0, 0, 1};
  EXPECT_EQ(interface_id("eth0", mac), interface_id("eth0", mac));
  EXPECT_NE(interface_id("eth0", mac), interface_id("eth1", mac));
  EXPECT_NE(interface_id("eth0", mac), interface_id("eth0", Bytes{0x02, 0, 0, 0, 0, 2}));
  EXPECT_NE(interface_id("eth0", {}), 0u);
  // Pinned: the id is documented and must not change between releases.
  EXPECT_EQ(interface_id("", {}), 0x050c5d1fu);
  EXPECT_EQ(interface_id("eth0", mac), interface_id("eth0", mac));
}

TEST(Interface, GlobsAndFilter) {
  EXPECT_TRUE(glob_match("veth*", "veth0"));
  EXPECT_TRUE(glob_match("eth[01]", "eth1"));
  EXPECT_FALSE(glob_match("eth[01]", "eth2"));
  EXPECT_FALSE(glob_match("veth*", "eth0"));

  InterfaceFilter f;
  EXPECT_TRUE(f.accepts(eth("eth0")));
  Interface down = eth("eth0");
  down.up = false;
  EXPECT_FALSE(f.accepts(down));
  Interface lo = eth("lo");
  lo.loopback = true;
  EXPECT_FALSE(f.accepts(lo));
  Interface bare = eth("eth0");
  bare.broadcast.reset();
  EXPECT_FALSE(f.accepts(bare));
  bare.link_local = asio::ip::make_address_v6("fe80::1");
  EXPECT_TRUE(f.accepts(bare));

  f.deny = {"docker*", "veth*"};
  EXPECT_FALSE(f.accepts(eth("veth12")));
  EXPECT_TRUE(f.accepts(eth("eth0")));
  f.allow = {"eth*", "veth*"};
  EXPECT_FALSE(f.accepts(eth("veth12")));  // deny wins
  EXPECT_FALSE(f.accepts(eth("wlan0")));
  EXPECT_TRUE(f.accepts(eth("eth3")));
}

TEST(Interface, SystemSourceListsLoopback) {
  SystemInterfaceSource s;
  auto all = s.list();
  ASSERT_TRUE(all) << all.error().to_string();
  bool lo = false;
  for (const auto& i : *all) {
    EXPECT_NE(i.index, 0u) << i.name;
    EXPECT_EQ(i.id, interface_id(i.name, i.mac));
    if (i.loopback) {
      lo = true;
      EXPECT_FALSE(InterfaceFilter{}.accepts(i));
    }
  }
  EXPECT_TRUE(lo);
}

}  // namespace
}  // namespace qc::discovery
