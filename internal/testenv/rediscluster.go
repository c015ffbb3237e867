package testenv

import (
	"context"
	"errors"
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
	if _, err := exec.LookPath("redis-cli"); err != nil {
		tb.Skipf("testenv: redis-cli is not on PATH (%v), so no Redis Cluster can be formed: "+
			"install the redis-server package (scripts/test.sh does), which includes it", err)
	}
	c, err := NewRedisCluster(tb.TempDir())
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	tb.Cleanup(c.Stop)
	return c
}

// NewRedisCluster is StartRedisCluster for a program rather than a test (the load
// generator's chaos run): the nodes keep their files in dir, and the caller calls Stop.
func NewRedisCluster(dir string) (*RedisCluster, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, fmt.Errorf("redis-cli is not on PATH (%v): install the redis-server package", err)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("redis-server is not on PATH (%v)", err)
	}
	c := &RedisCluster{}
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
			c.Stop()
			return nil, fmt.Errorf("start a cluster node: %w", err)
		}
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.Stop()
		return nil, fmt.Errorf("redis-cli %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if err := c.WaitOK(ctx); err != nil {
		c.Stop()
		return nil, fmt.Errorf("Redis Cluster on %v: %w", c.Addrs, err)
	}
	return c, nil
}

// Stop stops every node.
func (c *RedisCluster) Stop() {
	for _, n := range c.nodes {
		n.Stop()
	}
}

// KillPrimary kills (SIGKILL) the node serving slot 0 as a primary, and returns its address.
// Its replica takes over after the cluster's node timeout (5 s); Restart brings the node
// back, as a replica of the new primary.
func (c *RedisCluster) KillPrimary(ctx context.Context) (string, error) {
	for i, addr := range c.Addrs {
		if c.nodes[i].exited() {
			continue
		}
		rc := goredis.NewClient(&goredis.Options{Addr: addr})
		slots, err := rc.ClusterSlots(ctx).Result()
		_ = rc.Close()
		if err != nil {
			return "", fmt.Errorf("CLUSTER SLOTS on %s: %w", addr, err)
		}
		for _, s := range slots {
			if s.Start != 0 || len(s.Nodes) == 0 {
				continue
			}
			for j, n := range c.nodes {
				if n.Addr == s.Nodes[0].Addr {
					n.Kill()
					return c.Addrs[j], nil
				}
			}
			return "", fmt.Errorf("slot 0 is served by %s, not one of %v", s.Nodes[0].Addr, c.Addrs)
		}
		return "", fmt.Errorf("no node serves slot 0 (asked %s)", addr)
	}
	return "", errors.New("every node has exited")
}

// WaitFailover waits until a node other than addr (killed by KillPrimary) serves slot 0 as
// its primary and the running nodes report the cluster ok.
func (c *RedisCluster) WaitFailover(ctx context.Context, addr string) error {
	for {
		for i, a := range c.Addrs {
			if c.nodes[i].exited() {
				continue
			}
			rc := goredis.NewClient(&goredis.Options{Addr: a})
			slots, err := rc.ClusterSlots(ctx).Result()
			_ = rc.Close()
			if err != nil {
				continue
			}
			for _, s := range slots {
				if s.Start == 0 && len(s.Nodes) > 0 && s.Nodes[0].Addr != addr {
					return c.WaitOK(ctx)
				}
			}
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("slot 0 still on %s: %w", addr, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Restart starts the node at addr again, with its arguments and files (its cluster
// configuration), after Kill or KillPrimary.
func (c *RedisCluster) Restart(addr string) error {
	for _, n := range c.nodes {
		if n.Addr == addr {
			return n.restart(redisStartTimeout)
		}
	}
	return fmt.Errorf("%s is not a node of the cluster", addr)
}

// WaitOK waits until every running node reports cluster_state:ok with every slot assigned:
// after KillPrimary, until a replica has taken over.
func (c *RedisCluster) WaitOK(ctx context.Context) error {
	var last string
	for {
		ok := true
		for i, addr := range c.Addrs {
			if c.nodes[i].exited() {
				continue
			}
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
