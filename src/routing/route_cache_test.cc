#include "routing/route_cache.h"

#include <gtest/gtest.h>

namespace qc::routing {
namespace {

RouteEstablish est(int hops, const std::string& sig, std::uint64_t ts = 100) {
  RouteEstablish e;
  for (int i = 0; i < hops; ++i) e.mutable_route()->add_hops();
  e.set_signature(sig);
  e.set_timestamp_ms(ts);
  return e;
}

TEST(RouteCache, ShortestFirstBoundedAndEvictable) {
  RouteCache c(3, 2);
  NodeId a{};
  a[0] = 1;
  NodeId b{};
  b[0] = 2;
  c.put(a, est(5, "x"), true);
  c.put(a, est(3, "y"), true);
  c.put(a, est(4, "z"), true);  // per-peer cap 2: the 5-hop one goes
  EXPECT_EQ(c.size(), 2u);
  auto best = c.best(PeerPrefix::of(partial_of(a)), 0);
  ASSERT_TRUE(best);
  EXPECT_EQ(best->establish.signature(), "y");
  c.put(b, est(1, "w"), false);
  c.put(NodeId{}, est(1, "v"), false);  // total cap 3
  EXPECT_EQ(c.size(), 3u);
  EXPECT_FALSE(c.best(PeerPrefix::of(partial_of(a)), 101));  // too old
  c.evict(a, "y");
  EXPECT_EQ(c.best(PeerPrefix::of(partial_of(a)), 0)->establish.signature(), "z");
}

}  // namespace
}  // namespace qc::routing
