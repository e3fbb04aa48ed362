#include "routing/probe_table.h"

#include <gtest/gtest.h>

namespace qc::routing {
namespace {

TEST(ProbeTable, DeadEndOnlyWhenAllChildrenAreDeadEnds) {
  ProbeTable t(10);
  ProbeEntry e;
  e.has_upstream = true;
  e.upstream = 7;
  e.upstream_tag = 70;
  auto id = t.add(e);
  ASSERT_TRUE(id);
  auto a = t.add_child(*id, 1), b = t.add_child(*id, 2);
  auto s1 = t.settle(a, 1, false);
  ASSERT_TRUE(s1);
  EXPECT_FALSE(s1->send_dead_end);
  EXPECT_FALSE(s1->complete);
  auto s2 = t.settle(b, 2, false);
  ASSERT_TRUE(s2);
  EXPECT_TRUE(s2->send_dead_end);
  EXPECT_TRUE(s2->complete);
  EXPECT_EQ(s2->entry.upstream_tag, 70u);
  EXPECT_EQ(t.size(), 0u);
}

TEST(ProbeTable, ReachedIsPassedOnAtOnceAndOnlyOnce) {
  ProbeTable t(10);
  ProbeEntry e;
  e.has_upstream = true;
  auto id = t.add(e);
  auto a = t.add_child(*id, 1), b = t.add_child(*id, 2), c = t.add_child(*id, 3);
  auto s1 = t.settle(b, 2, true);
  EXPECT_TRUE(s1->send_reached);
  auto s2 = t.settle(a, 1, true);
  EXPECT_FALSE(s2->send_reached);
  auto s3 = t.settle(c, 3, false);
  EXPECT_FALSE(s3->send_dead_end);
  EXPECT_TRUE(s3->complete);
}

TEST(ProbeTable, AnswersFromTheWrongSessionAreIgnored) {
  ProbeTable t(10);
  auto id = t.add(ProbeEntry{});
  auto a = t.add_child(*id, 1);
  EXPECT_FALSE(t.settle(a, 2, false));
  EXPECT_FALSE(t.settle(a + 100, 1, false));
  EXPECT_TRUE(t.settle(a, 1, false));
  EXPECT_FALSE(t.settle(a, 1, false));  // once only
}

TEST(ProbeTable, SessionDownAndExpirySettleAsDeadEnds) {
  ProbeTable t(10);
  ProbeEntry e;
  e.has_upstream = true;
  e.expiry = 100;
  auto id = t.add(e);
  t.add_child(*id, 1);
  t.add_child(*id, 2);
  auto v = t.settle_session(1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].complete);
  EXPECT_FALSE(t.expire(*id, 99));
  auto x = t.expire(*id, 100);
  ASSERT_TRUE(x);
  EXPECT_TRUE(x->send_dead_end);
  EXPECT_EQ(t.children(), 0u);
}

TEST(ProbeTable, CapacityIsEnforced) {
  ProbeTable t(1);
  EXPECT_TRUE(t.add(ProbeEntry{}));
  EXPECT_FALSE(t.add(ProbeEntry{}));
}

}  // namespace
}  // namespace qc::routing
