#include "sim/topology.h"

#include <gtest/gtest.h>

namespace qc::sim {
namespace {

TEST(Topology, SimpleShapes) {
  EXPECT_EQ(line(5).edges.size(), 4u);
  EXPECT_EQ(ring(5).edges.size(), 5u);
  EXPECT_EQ(grid(3, 4).edges.size(), 17u);
  EXPECT_EQ(line(5).hops_from(0)[4], 4u);
  EXPECT_EQ(ring(6).hops_from(0)[3], 3u);
  EXPECT_EQ(grid(3, 3).hops_from(0)[8], 4u);
}

TEST(Topology, RandomGraphsHitTheirDegreeAndAreDeterministic) {
  Topology a = random_graph(1000, 6.0, 9);
  Topology b = random_graph(1000, 6.0, 9);
  ASSERT_EQ(a.edges.size(), b.edges.size());
  EXPECT_EQ(a.edges[17].a, b.edges[17].a);
  EXPECT_DOUBLE_EQ(a.average_degree(), 6.0);
  Topology g = random_geometric(1000, 6.0, 9);
  EXPECT_GT(g.average_degree(), 5.0);
  EXPECT_LT(g.average_degree(), 7.0);
  Topology s = scale_free(1000, 3, 9);
  EXPECT_NEAR(s.average_degree(), 6.0, 0.1);
  EXPECT_EQ(s.largest_component().size(), 1000u);  // preferential attachment is connected
}

TEST(Topology, ShortestLatencyAndComponents) {
  Topology t;
  t.nodes = 4;
  t.edges = {{0, 1, 5}, {1, 2, 5}, {0, 2, 20}};
  auto d = t.shortest_latency(0);
  EXPECT_EQ(d[2], 10u);
  EXPECT_EQ(d[3], kNever);
  auto c = t.components();
  EXPECT_EQ(c[0], c[2]);
  EXPECT_NE(c[0], c[3]);
  EXPECT_EQ(t.without_edge(0).shortest_latency(0)[2], 20u);
}

}  // namespace
}  // namespace qc::sim
