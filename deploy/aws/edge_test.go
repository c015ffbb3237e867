package aws_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The load balancer of edge.yaml: TLS, host routing, health checks and access logs.

func TestLoadBalancer(t *testing.T) {
	s := deployment(t)["edge.yaml"]
	listeners := map[int]map[string]any{}
	for _, l := range s.t.resources("AWS::ElasticLoadBalancingV2::Listener") {
		p := props(l)
		listeners[p["Port"].(int)] = p
	}
	https := listeners[443]
	if https == nil || https["Protocol"] != "HTTPS" || len(asList(https["Certificates"])) != 1 {
		t.Fatalf("443 listener %v, want HTTPS with the ACM certificate", https)
	}
	if pol, _ := https["SslPolicy"].(string); !strings.HasPrefix(pol, "ELBSecurityPolicy-TLS13-") {
		t.Errorf("TLS policy %q, want a TLS 1.3 policy", pol)
	}
	http := listeners[80]
	redirect := asMap(asMap(asList(http["DefaultActions"])[0])["RedirectConfig"])
	if redirect["Protocol"] != "HTTPS" || redirect["Port"] != "443" || redirect["StatusCode"] != "HTTP_301" {
		t.Errorf("port 80 action %v, want a permanent redirect to HTTPS 443", http["DefaultActions"])
	}
	hosts := map[string]string{}
	for _, rule := range s.t.resources("AWS::ElasticLoadBalancingV2::ListenerRule") {
		p := props(rule)
		for _, c := range asList(p["Conditions"]) {
			if asMap(c)["Field"] != "host-header" {
				continue
			}
			for _, h := range asList(asMap(asMap(c)["HostHeaderConfig"])["Values"]) {
				tg := asMap(asMap(asList(p["Actions"])[0])["TargetGroupArn"])["Ref"].(string)
				hosts[asMap(h)["Fn::Sub"].(string)] = tg
			}
		}
	}
	want := map[string]string{
		"api.${DomainName}":  "HttpTargetGroup",
		"chat.${DomainName}": "WsTargetGroup",
	}
	if !reflect.DeepEqual(hosts, want) {
		t.Errorf("host rules %v, want %v", hosts, want)
	}
	if got := s.value(t, asMap(asMap(s.t.doc["Parameters"])["DomainName"])["Default"]); got != "streetcoder.club" {
		t.Errorf("domain default %s, want the seed's streetcoder.club", got)
	}
	// Liveness, not readiness: every task shares DocumentDB and Redis, so a check that
	// follows them would fail on every task at once in a blip, and ECS would replace them
	// all and drop every socket. /readyz stays for people and start-up.
	for id, tg := range s.t.resources("AWS::ElasticLoadBalancingV2::TargetGroup") {
		if path := props(tg)["HealthCheckPath"]; path != "/healthz" {
			t.Errorf("%s health check on %v, want /healthz", id, path)
		}
	}
	for _, a := range asList(props(s.t.resource(t, "LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer"))["LoadBalancerAttributes"]) {
		if asMap(a)["Key"] == "idle_timeout.timeout_seconds" {
			if idle, _ := strconv.Atoi(s.value(t, asMap(a)["Value"])); idle < 120 {
				t.Errorf("idle timeout %ds is too short for WebSockets between heartbeats", idle)
			}
		}
	}
	if n := len(s.t.resources("AWS::Route53::RecordSet")); n != 2 {
		t.Errorf("%d Route 53 records, want 2 aliases (api., chat.)", n)
	}
	if n := len(s.t.resources("AWS::ElasticLoadBalancingV2::TargetGroup")); n != 2 {
		t.Errorf("%d target groups, want 2 (api, chat)", n)
	}
}

// TestAccessLogs: the ALB writes access logs to an encrypted, private bucket whose policy
// lets Elastic Load Balancing deliver them (the regional ELB account in Regions opened
// before August 2022, the log-delivery service principal in later ones), and the ALB is
// created after that policy, since enabling the logs checks that it can write.
func TestAccessLogs(t *testing.T) {
	s := deployment(t)["edge.yaml"]
	lb := s.t.resource(t, "LoadBalancer", "AWS::ElasticLoadBalancingV2::LoadBalancer")
	attrs := map[string]string{}
	for _, a := range asList(props(lb)["LoadBalancerAttributes"]) {
		attrs[asMap(a)["Key"].(string)] = jsonOf(asMap(a)["Value"])
	}
	if attrs["access_logs.s3.enabled"] != `"true"` || attrs["access_logs.s3.bucket"] != `{"Ref":"AccessLogBucket"}` {
		t.Errorf("access log attributes %v, want enabled into AccessLogBucket", attrs)
	}
	prefix := strings.Trim(attrs["access_logs.s3.prefix"], `"`)
	if !slices.Contains(stringsOf(lb["DependsOn"]), "AccessLogBucketPolicy") {
		t.Errorf("the load balancer does not wait for the bucket policy (DependsOn %v)", lb["DependsOn"])
	}
	b := props(s.t.resource(t, "AccessLogBucket", "AWS::S3::Bucket"))
	enc := jsonOf(b["BucketEncryption"])
	if !strings.Contains(enc, `"SSEAlgorithm":"AES256"`) {
		t.Errorf("bucket encryption %s, want SSE-S3 (the only kind ALB log delivery supports)", enc)
	}
	for k, v := range asMap(b["PublicAccessBlockConfiguration"]) {
		if v != true {
			t.Errorf("public access block %s = %v", k, v)
		}
	}
	if len(asMap(b["PublicAccessBlockConfiguration"])) != 4 {
		t.Error("the bucket does not block all public access")
	}
	pol := jsonOf(props(s.t.resource(t, "AccessLogBucketPolicy", "AWS::S3::BucketPolicy")))
	target := `/` + prefix + `/AWSLogs/${AWS::AccountId}/*`
	for _, want := range []string{
		`"Service":"logdelivery.elasticloadbalancing.amazonaws.com"`,
		`"arn:${AWS::Partition}:iam::${Account}:root"`,
		`"Fn::FindInMap":["ElbLogAccounts",{"Ref":"AWS::Region"},"Id"`,
		`"Action":"s3:PutObject"`,
		target,
		`"aws:SecureTransport":"false"`,
	} {
		if !strings.Contains(pol, want) {
			t.Errorf("bucket policy lacks %s: %s", want, pol)
		}
	}
	accounts := asMap(s.t.doc["Mappings"])["ElbLogAccounts"]
	for region, id := range map[string]string{"us-east-1": "127311923021", "ap-northeast-2": "600734575887", "eu-west-1": "156460612806"} {
		if got := asMap(asMap(accounts)[region])["Id"]; got != id {
			t.Errorf("ELB log account of %s = %v, want %s", region, got, id)
		}
	}
}
