package testenv

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// clusterStartTimeout bounds how long a private Redis Cluster may take to form.
const clusterStartTimeout = 60 * time.Second

// RedisCluster is a private Redis Cluster: three primaries, each with a replica.
type RedisCluster struct {
	// Addrs are the nodes' host:port.
	Addrs []string
	nodes []*RedisServer
}

// StartRedisCluster starts six redis-server processes with cluster mode on, in a temporary
// directory, joins them with redis-cli --cluster create, waits until the cluster serves
// every slot, and stops them all when tb ends. It skips tb when redis-cli is not on PATH.
func StartRedisCluster(tb testing.TB) *RedisCluster {
	tb.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		tb.Skipf("testenv: redis-cli is not on PATH (%v), so no Redis Cluster can be formed: "+
			"install the redis-server package (scripts/test.sh does), which includes it", err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		tb.Skipf("testenv: redis-server is not on PATH (%v)", err)
	}
	dir := tb.TempDir()
	c := &RedisCluster{}
	tb.Cleanup(func() {
		for _, n := range c.nodes {
			n.Stop()
		}
	})
	for range 6 {
		var n *RedisServer
		for attempt := 0; attempt < 5; attempt++ {
			n, err = startRedis(bin, dir, func(port int) ([]string, error) {
				// The cluster bus port is chosen too: port+10000 may not exist.
				busPort, err := freePort()
				if err != nil {
					return nil, err
				}
				return []string{"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(busPort),
					"--cluster-config-file", "nodes-" + strconv.Itoa(port) + ".conf",
					"--cluster-node-timeout", "5000"}, nil
			})
			if err == nil {
				break
			}
		}
		if err != nil {
			tb.Fatalf("testenv: start a cluster node: %v", err)
		}
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("testenv: redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := c.waitOK(ctx); err != nil {
		tb.Fatalf("testenv: Redis Cluster on %v: %v", c.Addrs, err)
	}
	return c
}

// waitOK waits until every node reports cluster_state:ok with every slot assigned.
func (c *RedisCluster) waitOK(ctx context.Context) error {
	var last string
	for {
		ok := true
		for _, addr := range c.Addrs {
			info, err := clusterInfo(ctx, addr)
			if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
				ok, last = false, fmt.Sprintf("%s: %v %q", addr, err, info)
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ok in time; last: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func clusterInfo(ctx context.Context, addr string) (string, error) {
	rc := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rc.Close()
	return rc.ClusterInfo(ctx).Result()
}

// Client returns a new cluster client, closed by tb.Cleanup.
func (c *RedisCluster) Client(tb testing.TB) *goredis.ClusterClient {
	tb.Helper()
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: c.Addrs})
	tb.Cleanup(func() { _ = cc.Close() })
	return cc
}
