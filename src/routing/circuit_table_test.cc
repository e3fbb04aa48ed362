#include "routing/circuit_table.h"

#include <gtest/gtest.h>

namespace qc::routing {
namespace {

TEST(CircuitTable, LabelsAreUniquePerSessionAndRoundRobin) {
  CircuitTable t(100);
  auto a = t.allocate_label(1, 1, 3);
  ASSERT_TRUE(a);
  CircuitEntry e;
  e.back = {1, *a};
  e.fwd = {2, 9000};
  ASSERT_TRUE(t.add(e));
  auto b = t.allocate_label(1, 1, 3);
  ASSERT_TRUE(b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(t.add(e));  // labels in use
}

TEST(CircuitTable, RunsOutOfLabelsWithAnError) {
  CircuitTable t(100);
  for (int i = 0; i < 3; ++i) {
    auto l = t.allocate_label(1, 1, 3);
    ASSERT_TRUE(l);
    CircuitEntry e;
    e.back = {1, *l};
    ASSERT_TRUE(t.add(e));
  }
  auto l = t.allocate_label(1, 1, 3);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, Errc::kLimit);
}

TEST(CircuitTable, ForwardIsBothWaysOnlyWhenEstablished) {
  CircuitTable t(10);
  CircuitEntry e;
  e.back = {1, 5};
  e.fwd = {2, 8200};
  auto h = t.add(e);
  ASSERT_TRUE(h);
  EXPECT_FALSE(t.forward(1, 5));
  t.get(*h)->state = CircuitState::kEstablished;
  EXPECT_EQ(*t.forward(1, 5), (CircuitSide{2, 8200}));
  EXPECT_EQ(*t.forward(2, 8200), (CircuitSide{1, 5}));
  EXPECT_EQ(t.on_session(2).size(), 1u);
  t.remove(*h);
  EXPECT_FALSE(t.lookup(1, 5));
  EXPECT_EQ(t.size(), 0u);
}

TEST(CircuitTable, CapacityIsEnforced) {
  CircuitTable t(2);
  for (Label l = 1; l <= 2; ++l) {
    CircuitEntry e;
    e.back = {1, l};
    ASSERT_TRUE(t.add(e));
  }
  CircuitEntry e;
  e.back = {1, 3};
  auto r = t.add(e);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::kLimit);
}

}  // namespace
}  // namespace qc::routing
