// The mpirun layout: roles by rank, the world-size check, launcher environment, endpoints.
#include "scorch/common/config/rank_layout.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

namespace scorch::config {
namespace {

using ::testing::HasSubstr;

TEST(RankLayoutTest, RanksTakeRolesInOrder) {
  RolesConfig roles;
  roles.learner = 2;
  roles.reward = 1;
  roles.rollout = 3;
  const std::pair<RankRole, int> want[] = {{RankRole::kOrchestrator, 0}, {RankRole::kLearner, 0},
                                           {RankRole::kLearner, 1},      {RankRole::kReward, 0},
                                           {RankRole::kRollout, 0},      {RankRole::kRollout, 1},
                                           {RankRole::kRollout, 2}};
  for (int r = 0; r < 7; ++r) {
    auto place = PlaceOfRank(roles, r, 7);
    ASSERT_TRUE(place.ok()) << place.status();
    EXPECT_EQ(place->role, want[r].first) << "rank " << r;
    EXPECT_EQ(place->role_rank, want[r].second) << "rank " << r;
  }
}

TEST(RankLayoutTest, WorldSizeMustMatchTheRoles) {
  RolesConfig roles;  // 1 + 1 + 0 + 1
  auto place = PlaceOfRank(roles, 0, 5);
  ASSERT_FALSE(place.ok());
  EXPECT_THAT(place.status().message(), HasSubstr("mpirun started 5 ranks but cluster.roles asks for 3"));
  EXPECT_THAT(place.status().message(), HasSubstr("mpirun -np 3"));
  EXPECT_FALSE(PlaceOfRank(roles, 3, 3).ok());
}

TEST(RankLayoutTest, LauncherEnvironmentFromOpenMpi) {
  ::unsetenv("PMI_RANK");
  ::unsetenv("PMIX_RANK");
  ::setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  ::setenv("OMPI_COMM_WORLD_SIZE", "4", 1);
  ::setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  auto env = LauncherEnvironment();
  ASSERT_TRUE(env.has_value());
  EXPECT_EQ(env->world_rank, 2);
  EXPECT_EQ(env->world_size, 4);
  EXPECT_EQ(env->local_rank, 1);
  ::setenv("OMPI_COMM_WORLD_RANK", "4", 1);  // out of range: not a launcher we understand
  EXPECT_FALSE(LauncherEnvironment().has_value());
  ::unsetenv("OMPI_COMM_WORLD_RANK");
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ::unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
  EXPECT_FALSE(LauncherEnvironment().has_value());
}

TEST(RankLayoutTest, AdvertisedEndpoint) {
  EXPECT_EQ(*AdvertisedEndpoint("tcp://127.0.0.1:5555", ""), "tcp://127.0.0.1:5555");
  EXPECT_EQ(*AdvertisedEndpoint("tcp://10.0.0.5:5555", "node7"), "tcp://node7:5555");
  char host[256] = {};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);
  EXPECT_EQ(*AdvertisedEndpoint("tcp://0.0.0.0:41000", ""), std::string("tcp://") + host + ":41000");
  EXPECT_FALSE(AdvertisedEndpoint("inproc://x", "").ok());
  EXPECT_FALSE(AdvertisedEndpoint("tcp://nohostport", "").ok());
}

TEST(GpuPlacement, LocalRanksShareTheVisibleGpusRoundRobin) {
  EXPECT_EQ(GpuOfLocalRank(0, 4), 0);
  EXPECT_EQ(GpuOfLocalRank(3, 4), 3);
  EXPECT_EQ(GpuOfLocalRank(5, 4), 1);  // more ranks than GPUs on the host
  EXPECT_EQ(GpuOfLocalRank(2, 1), 0);
  EXPECT_EQ(GpuOfLocalRank(0, 0), -1);  // no GPU: the CPU
  EXPECT_EQ(GpuOfLocalRank(-1, 2), 0);
}

}  // namespace
}  // namespace scorch::config
