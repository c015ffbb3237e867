package aws_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The seed's values (ARCHITECTURE.md §6) and the security rules of issue 7, checked against
// the templates as they deploy with every default.

func TestNestedStacksFitTogether(t *testing.T) {
	stacks := deployment(t)
	for _, want := range []string{"network.yaml", "data.yaml", "edge.yaml", "ecs.yaml"} {
		if stacks[want] == nil {
			t.Errorf("main.yaml does not nest %s", want)
		}
	}
	for file, s := range stacks {
		if s.parent == nil {
			continue
		}
		params := asMap(s.t.doc["Parameters"])
		for name := range s.passed {
			if params[name] == nil {
				t.Errorf("main.yaml passes %s to %s, which has no such parameter", name, file)
			}
		}
		for name, p := range params {
			if _, hasDefault := asMap(p)["Default"]; !hasDefault && s.passed[name] == nil {
				t.Errorf("%s: parameter %s has no default and main.yaml does not pass it", file, name)
			}
		}
	}
}

func TestVPC(t *testing.T) {
	s := deployment(t)["network.yaml"]
	vpc := s.t.resource(t, "Vpc", "AWS::EC2::VPC")
	if got := s.value(t, props(vpc)["CidrBlock"]); got != "10.0.0.0/16" {
		t.Errorf("VPC CIDR = %s, want 10.0.0.0/16", got)
	}
	want := map[string]struct {
		cidr string
		az   int
	}{
		"PublicSubnet1":  {"10.0.1.0/24", 0},
		"PublicSubnet2":  {"10.0.2.0/24", 1},
		"PrivateSubnet1": {"10.0.3.0/24", 0},
		"PrivateSubnet2": {"10.0.4.0/24", 1},
	}
	subnets := s.t.resources("AWS::EC2::Subnet")
	if len(subnets) != len(want) {
		t.Errorf("%d subnets, want %d", len(subnets), len(want))
	}
	azs := map[int]bool{}
	for id, w := range want {
		p := props(s.t.resource(t, id, "AWS::EC2::Subnet"))
		if got := s.value(t, p["CidrBlock"]); got != w.cidr {
			t.Errorf("%s CIDR = %s, want %s", id, got, w.cidr)
		}
		// AvailabilityZone: !Select [i, !GetAZs ""]
		sel := asList(asMap(p["AvailabilityZone"])["Fn::Select"])
		if len(sel) != 2 || asMap(sel[1])["Fn::GetAZs"] == nil {
			t.Fatalf("%s AvailabilityZone = %v, want !Select [i, !GetAZs]", id, p["AvailabilityZone"])
		}
		i, _ := strconv.Atoi(s.value(t, sel[0]))
		if i != w.az {
			t.Errorf("%s in AZ index %d, want %d", id, i, w.az)
		}
		azs[i] = true
	}
	if len(azs) != 2 {
		t.Errorf("subnets span %d AZs, want 2", len(azs))
	}
	if len(s.t.resources("AWS::EC2::NatGateway")) < 1 || len(s.t.resources("AWS::EC2::InternetGateway")) != 1 {
		t.Error("want an internet gateway and a NAT gateway")
	}
	routes := map[string]map[string]any{}
	for _, r := range s.t.resources("AWS::EC2::Route") {
		p := props(r)
		routes[asMap(p["RouteTableId"])["Ref"].(string)] = p
	}
	if routes["PublicRouteTable"]["GatewayId"] == nil {
		t.Error("public route table has no default route to the internet gateway")
	}
	if routes["PrivateRouteTable"]["NatGatewayId"] == nil {
		t.Error("private route table has no default route to the NAT gateway")
	}
}

func TestECSClusterAndInstances(t *testing.T) {
	s := deployment(t)["ecs.yaml"]
	cluster := props(s.t.resource(t, "Cluster", "AWS::ECS::Cluster"))
	if got := s.value(t, cluster["ClusterName"]); got != "ChatAppCluster" {
		t.Errorf("cluster name = %s, want ChatAppCluster", got)
	}
	lt := asMap(props(s.t.resource(t, "LaunchTemplate", "AWS::EC2::LaunchTemplate"))["LaunchTemplateData"])
	if got := s.value(t, lt["InstanceType"]); got != "t3.small" {
		t.Errorf("instance type = %s, want t3.small", got)
	}
	ami := asMap(asMap(s.t.doc["Parameters"])["EcsAmiId"])
	if !strings.HasPrefix(ami["Type"].(string), "AWS::SSM::Parameter::Value") ||
		!strings.HasPrefix(ami["Default"].(string), "/aws/service/ecs/optimized-ami/") {
		t.Errorf("AMI parameter = %v, want the ECS-optimised AMI's SSM public parameter", ami)
	}
	asg := props(s.t.resource(t, "AutoScalingGroup", "AWS::AutoScaling::AutoScalingGroup"))
	if lo, hi := s.value(t, asg["MinSize"]), s.value(t, asg["MaxSize"]); lo != "2" || hi != "4" {
		t.Errorf("Auto Scaling group min/max = %s/%s, want 2/4", lo, hi)
	}
	cp := asMap(props(s.t.resource(t, "CapacityProvider", "AWS::ECS::CapacityProvider"))["AutoScalingGroupProvider"])
	if asMap(cp["AutoScalingGroupArn"])["Ref"] != "AutoScalingGroup" {
		t.Error("the capacity provider does not manage the Auto Scaling group")
	}
}

// roleServices names, per role, the resources that run it and the repository of its image.
var roleServices = map[string]struct{ service, taskDef, repo, taskRole string }{
	"api":    {"HttpService", "HttpTaskDefinition", "chat-chat-http", "HttpTaskRole"},
	"ws":     {"WsService", "WsTaskDefinition", "chat-chat-ws", "WsTaskRole"},
	"notify": {"NotificationService", "NotificationTaskDefinition", "chat-chat-notification", "NotificationTaskRole"},
}

func TestServices(t *testing.T) {
	s := deployment(t)["ecs.yaml"]
	if n := len(s.t.resources("AWS::ECS::Service")); n != 3 {
		t.Errorf("%d ECS services, want 3", n)
	}
	targets := s.t.resources("AWS::ApplicationAutoScaling::ScalableTarget")
	policies := s.t.resources("AWS::ApplicationAutoScaling::ScalingPolicy")
	for role, r := range roleServices {
		t.Run(role, func(t *testing.T) {
			svc := props(s.t.resource(t, r.service, "AWS::ECS::Service"))
			dc := asMap(svc["DeploymentConfiguration"])
			if dc["MinimumHealthyPercent"] != 100 || dc["MaximumPercent"] != 200 {
				t.Errorf("deployment %v, want MinimumHealthyPercent 100, MaximumPercent 200", dc)
			}
			if cb := asMap(dc["DeploymentCircuitBreaker"]); cb["Enable"] != true || cb["Rollback"] != true {
				t.Errorf("circuit breaker %v, want enabled with rollback", cb)
			}
			// The notification worker answers only /healthz, /readyz and /metrics: nothing
			// for the internet, so it is behind no load balancer (and has no host name).
			if lbs := len(asList(svc["LoadBalancers"])); lbs != map[bool]int{true: 0, false: 1}[role == "notify"] {
				t.Errorf("behind %d load balancer target groups; want 1, and none for the notification worker", lbs)
			}
			var target string
			for id, st := range targets {
				if strings.Contains(jsonOf(props(st)["ResourceId"]), r.service+".Name") {
					target = id
					p := props(st)
					if lo, hi := s.value(t, p["MinCapacity"]), s.value(t, p["MaxCapacity"]); lo != "2" || hi != "4" {
						t.Errorf("scaling bounds %s..%s, want 2..4", lo, hi)
					}
				}
			}
			if target == "" {
				t.Fatal("no scalable target")
			}
			found := false
			for _, pol := range policies {
				p := props(pol)
				if asMap(p["ScalingTargetId"])["Ref"] != target {
					continue
				}
				found = true
				c := asMap(p["TargetTrackingScalingPolicyConfiguration"])
				metric := asMap(c["PredefinedMetricSpecification"])["PredefinedMetricType"]
				if metric != "ECSServiceAverageCPUUtilization" || s.value(t, c["TargetValue"]) != "70" {
					t.Errorf("scaling policy tracks %v at %s, want CPU at 70", metric, s.value(t, c["TargetValue"]))
				}
			}
			if !found {
				t.Error("no target-tracking scaling policy")
			}
		})
	}
}

func TestTaskDefinitions(t *testing.T) {
	stacks := deployment(t)
	s, edge := stacks["ecs.yaml"], stacks["edge.yaml"]
	logGroups := s.t.resources("AWS::Logs::LogGroup")
	if len(logGroups) != 3 {
		t.Errorf("%d log groups, want one per service", len(logGroups))
	}
	for id, lg := range logGroups {
		if got := s.value(t, props(lg)["RetentionInDays"]); got != "14" {
			t.Errorf("log group %s keeps %s days, want 14", id, got)
		}
	}
	dereg := 0
	for _, tg := range edge.t.resources("AWS::ElasticLoadBalancingV2::TargetGroup") {
		for _, a := range asList(props(tg)["TargetGroupAttributes"]) {
			if asMap(a)["Key"] == "deregistration_delay.timeout_seconds" {
				dereg, _ = strconv.Atoi(edge.value(t, asMap(a)["Value"]))
			}
		}
	}
	for role, r := range roleServices {
		t.Run(role, func(t *testing.T) {
			td := props(s.t.resource(t, r.taskDef, "AWS::ECS::TaskDefinition"))
			if got := asList(asMap(td["TaskRoleArn"])["Fn::GetAtt"]); len(got) == 0 || got[0] != r.taskRole {
				t.Errorf("task role %v, want %s", td["TaskRoleArn"], r.taskRole)
			}
			cds := asList(td["ContainerDefinitions"])
			if len(cds) != 1 {
				t.Fatalf("%d containers, want 1", len(cds))
			}
			c := asMap(cds[0])
			if img := jsonOf(c["Image"]); !strings.Contains(img, "/"+r.repo+":${ImageTag}") {
				t.Errorf("image %s, want the %s repository at ImageTag", img, r.repo)
			}
			lc := asMap(c["LogConfiguration"])
			group := asMap(asMap(lc["Options"])["awslogs-group"])["Ref"]
			if lc["LogDriver"] != "awslogs" || logGroups[group.(string)] == nil {
				t.Errorf("logs %v, want awslogs to one of the template's log groups", lc)
			}
			env := map[string]any{}
			for _, e := range asList(c["Environment"]) {
				env[asMap(e)["Name"].(string)] = asMap(e)["Value"]
			}
			if env["CHATCHAT_ADDR"] != "0.0.0.0:8080" || env["CHATCHAT_LOG_FORMAT"] != "json" || env["CHATCHAT_TRUST_PROXY"] != "true" {
				t.Errorf("environment %v, want CHATCHAT_ADDR 0.0.0.0:8080, JSON logs, trusted proxy", env)
			}
			if uri := jsonOf(env["CHATCHAT_MONGO_URI"]); !strings.Contains(uri, "mongodb://") {
				t.Errorf("CHATCHAT_MONGO_URI = %s", uri)
			}
			q := s.t.doc["Mappings"].(map[string]any)["Mongo"].(map[string]any)["Options"].(map[string]any)["Query"].(string)
			for _, opt := range []string{"tls=true", "retryWrites=false", "tlsCAFile=/etc/chatchat/global-bundle.pem", "replicaSet=rs0"} {
				if !strings.Contains(q, opt) {
					t.Errorf("DocumentDB options %q lack %s", q, opt)
				}
			}
			secrets := map[string]string{}
			for _, e := range asList(c["Secrets"]) {
				if m := asMap(e); m["Name"] != nil {
					secrets[m["Name"].(string)] = jsonOf(m["ValueFrom"])
				}
			}
			if !strings.HasSuffix(secrets["CHATCHAT_MONGO_USERNAME"], `:username::"}`) ||
				!strings.HasSuffix(secrets["CHATCHAT_MONGO_PASSWORD"], `:password::"}`) {
				t.Errorf("DocumentDB credentials not injected from the secret's JSON keys: %v", secrets)
			}
			// SIGTERM arrives after the target has drained; the binary's own drain must end
			// before ECS's SIGKILL.
			shutdown, err := time.ParseDuration(s.value(t, env["CHATCHAT_SHUTDOWN_TIMEOUT"]))
			if err != nil {
				t.Fatalf("CHATCHAT_SHUTDOWN_TIMEOUT: %v", err)
			}
			stop, _ := strconv.Atoi(s.value(t, c["StopTimeout"]))
			if shutdown >= time.Duration(stop)*time.Second || shutdown > time.Duration(dereg)*time.Second {
				t.Errorf("shutdown timeout %v must be below the stop timeout %ds and within the deregistration delay %ds", shutdown, stop, dereg)
			}
		})
	}
}

func TestTaskRolesLeastPrivilege(t *testing.T) {
	s := deployment(t)["ecs.yaml"]
	for role, r := range roleServices {
		t.Run(role, func(t *testing.T) {
			p := props(s.t.resource(t, r.taskRole, "AWS::IAM::Role"))
			if p["ManagedPolicyArns"] != nil {
				t.Errorf("task role has managed policies %v; want only its inline statements", p["ManagedPolicyArns"])
			}
			var actions []string
			for _, pol := range asList(p["Policies"]) {
				for _, st := range asList(asMap(asMap(pol)["PolicyDocument"])["Statement"]) {
					st := asMap(st)
					acts, ress := stringsOf(st["Action"]), stringsOf(st["Resource"])
					for _, a := range acts {
						if a == "*" || strings.HasSuffix(a, ":*") {
							t.Errorf("statement allows every action (%s)", a)
						}
					}
					for _, res := range ress {
						if res == "*" {
							t.Errorf("statement %v applies to every resource", st)
						}
					}
					actions = append(actions, acts...)
				}
			}
			hasS3 := slices.ContainsFunc(actions, func(a string) bool { return strings.HasPrefix(a, "s3:") })
			if hasS3 != (role == "api") {
				t.Errorf("S3 actions %v: only the API tasks may touch media", actions)
			}
			for _, a := range actions {
				if strings.HasPrefix(a, "secretsmanager:") && a != "secretsmanager:GetSecretValue" {
					t.Errorf("secrets action %s; tasks only read", a)
				}
			}
		})
	}
}

func TestECRKeepsThree(t *testing.T) {
	tmpl := loadTemplate(t, "ecr.yaml")
	keep := tmpl.paramDefault(t, "KeepImages")
	names := map[string]bool{}
	for id, repo := range tmpl.resources("AWS::ECR::Repository") {
		p := props(repo)
		names[p["RepositoryName"].(string)] = true
		text, _ := asMap(asMap(p["LifecyclePolicy"])["LifecyclePolicyText"])["Fn::Sub"].(string)
		var policy struct {
			Rules []struct {
				Selection struct {
					TagStatus, CountType string
					CountNumber          int
				}
				Action struct{ Type string }
			}
		}
		if err := json.Unmarshal([]byte(strings.ReplaceAll(text, "${KeepImages}", keep)), &policy); err != nil {
			t.Fatalf("%s lifecycle policy: %v", id, err)
		}
		if len(policy.Rules) != 1 || policy.Rules[0].Selection.CountType != "imageCountMoreThan" ||
			policy.Rules[0].Selection.CountNumber != 3 || policy.Rules[0].Selection.TagStatus != "any" ||
			policy.Rules[0].Action.Type != "expire" {
			t.Errorf("%s lifecycle %+v, want: expire beyond the last 3 images", id, policy)
		}
	}
	want := map[string]bool{"chat-chat-http": true, "chat-chat-ws": true, "chat-chat-notification": true}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("repositories %v, want %v", names, want)
	}
}

func TestSecurityGroups(t *testing.T) {
	s := deployment(t)["network.yaml"]
	// Every ingress must be inline, so that this list is all of it.
	if extra := s.t.resources("AWS::EC2::SecurityGroupIngress"); len(extra) != 0 {
		t.Errorf("separate ingress rules %v: keep ingress inline", extra)
	}
	want := map[string][]string{
		"AlbSecurityGroup":            {"tcp 443 from 0.0.0.0/0", "tcp 80 from 0.0.0.0/0"},
		"EcsSecurityGroup":            {"tcp 32768-65535 from AlbSecurityGroup"},
		"DocDbSecurityGroup":          {"tcp 27017 from EcsSecurityGroup", "tcp 27017 from RotationLambdaSecurityGroup"},
		"RedisSecurityGroup":          {"tcp 6379 from EcsSecurityGroup"},
		"RotationLambdaSecurityGroup": nil,
	}
	groups := s.t.resources("AWS::EC2::SecurityGroup")
	if len(groups) != len(want) {
		t.Errorf("%d security groups, want %d", len(groups), len(want))
	}
	for id, rules := range want {
		var got []string
		for _, in := range asList(props(s.t.resource(t, id, "AWS::EC2::SecurityGroup"))["SecurityGroupIngress"]) {
			r := asMap(in)
			ports := strconv.Itoa(r["FromPort"].(int))
			if r["ToPort"] != r["FromPort"] {
				ports += "-" + strconv.Itoa(r["ToPort"].(int))
			}
			src, _ := r["CidrIp"].(string)
			if ref := asMap(r["SourceSecurityGroupId"])["Ref"]; ref != nil {
				src = ref.(string)
			}
			got = append(got, r["IpProtocol"].(string)+" "+ports+" from "+src)
		}
		if !slices.Equal(got, rules) {
			t.Errorf("%s ingress %q, want %q", id, got, rules)
		}
	}
}

func TestAlarmsAndOutputs(t *testing.T) {
	stacks := deployment(t)
	var metrics []string
	for _, file := range []string{"edge.yaml", "ecs.yaml"} {
		for _, a := range stacks[file].t.resources("AWS::CloudWatch::Alarm") {
			metrics = append(metrics, jsonOf(props(a)))
		}
	}
	count := func(sub string) int {
		n := 0
		for _, m := range metrics {
			if strings.Contains(m, sub) {
				n++
			}
		}
		return n
	}
	if n := count(`"MetricName":"CPUUtilization"`); n != 3 {
		t.Errorf("%d CPU alarms, want one per service", n)
	}
	if count("HTTPCode_Target_5XX_Count") != 1 || count("HTTPCode_ELB_5XX_Count") != 1 {
		t.Error("no ALB 5xx-rate alarm")
	}
	if n := count("UnHealthyHostCount"); n != 2 {
		t.Errorf("%d unhealthy-host alarms, want one per target group", n)
	}
	out := asMap(stacks["main.yaml"].t.doc["Outputs"])
	for _, o := range []string{"ApiUrl", "ChatUrl"} {
		if out[o] == nil {
			t.Errorf("main.yaml has no output %s", o)
		}
	}
	if out["NotificationUrl"] != nil {
		t.Error("main.yaml outputs a NotificationUrl: the notification worker has no public host")
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// stringsOf flattens an IAM Action or Resource (one value or a list) into strings: plain
// strings as they are, expressions as JSON.
func stringsOf(v any) []string {
	items, ok := v.([]any)
	if !ok {
		items = []any{v}
	}
	var out []string
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
			continue
		}
		out = append(out, jsonOf(it))
	}
	return out
}
