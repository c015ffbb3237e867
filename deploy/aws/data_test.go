package aws_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// The data stores of data.yaml: DocumentDB, Redis and the media bucket, as deployed.

func TestDocumentDB(t *testing.T) {
	s := deployment(t)["data.yaml"]
	c := props(s.t.resource(t, "DocDbCluster", "AWS::DocDB::DBCluster"))
	if got := s.value(t, c["EngineVersion"]); got != "5.0.0" {
		t.Errorf("engine version %s, want 5.0.0", got)
	}
	if c["StorageEncrypted"] != true {
		t.Error("storage not encrypted")
	}
	if days, _ := strconv.Atoi(s.value(t, c["BackupRetentionPeriod"])); days < 1 {
		t.Errorf("backups kept %d days, want automated backups", days)
	}
	pg := props(s.t.resource(t, "DocDbClusterParameterGroup", "AWS::DocDB::DBClusterParameterGroup"))
	if asMap(pg["Parameters"])["tls"] != "enabled" {
		t.Error("TLS not required by the cluster parameter group")
	}
	for id, inst := range s.t.resources("AWS::DocDB::DBInstance") {
		if got := s.value(t, props(inst)["DBInstanceClass"]); got != "db.t3.medium" {
			t.Errorf("%s class %s, want db.t3.medium", id, got)
		}
	}
	if !strings.Contains(jsonOf(props(s.t.resource(t, "DocDbSubnetGroup", "AWS::DocDB::DBSubnetGroup"))), "PrivateSubnetIds") {
		t.Error("DocumentDB is not in the private subnets")
	}
	rot := props(s.t.resource(t, "DocDbRotation", "AWS::SecretsManager::RotationSchedule"))
	if asMap(rot["HostedRotationLambda"])["RotationType"] != "MongoDBSingleUser" {
		t.Errorf("rotation %v, want the hosted DocumentDB rotation", rot["HostedRotationLambda"])
	}
	if !strings.Contains(jsonOf(c["MasterUserPassword"]), "resolve:secretsmanager") {
		t.Error("the cluster's password does not come from Secrets Manager")
	}
}

func TestRedis(t *testing.T) {
	stacks := deployment(t)
	s, ecs := stacks["data.yaml"], stacks["ecs.yaml"]
	rg := props(s.t.resource(t, "Redis", "AWS::ElastiCache::ReplicationGroup"))
	// T2 nodes support neither in-transit encryption nor AUTH: none may be chosen.
	param := asMap(asMap(s.t.doc["Parameters"])["RedisNodeType"])
	for _, nt := range append(asList(param["AllowedValues"]), s.value(t, rg["CacheNodeType"])) {
		if strings.HasPrefix(fmt.Sprint(nt), "cache.t2.") {
			t.Errorf("node type %v allowed: it has no TLS and no AUTH", nt)
		}
	}
	if rg["TransitEncryptionEnabled"] != true || rg["AtRestEncryptionEnabled"] != true {
		t.Errorf("encryption in transit %v, at rest %v: want both, always", rg["TransitEncryptionEnabled"], rg["AtRestEncryptionEnabled"])
	}
	if tok := jsonOf(rg["AuthToken"]); !strings.Contains(tok, "resolve:secretsmanager:${RedisAuthSecret}") {
		t.Errorf("AuthToken %s, want the RedisAuthSecret", tok)
	}
	gen := asMap(props(s.t.resource(t, "RedisAuthSecret", "AWS::SecretsManager::Secret"))["GenerateSecretString"])
	if n, _ := gen["PasswordLength"].(int); n < 16 || n > 128 || gen["ExcludePunctuation"] != true {
		t.Errorf("auth token %v: ElastiCache wants 16 to 128 characters, none of them @, \" or /", gen)
	}
	url := jsonOf(asMap(asMap(s.t.doc["Outputs"])["RedisUrl"])["Value"])
	if !strings.Contains(url, `"rediss://${Redis.PrimaryEndPoint.Address}`) || strings.Contains(url, "@") {
		t.Errorf("RedisUrl %s, want rediss:// with no credentials in it", url)
	}
	// The token reaches every task as CHATCHAT_REDIS_PASSWORD, through ECS from the
	// secret, so that it is in no URL and no task definition.
	for role, r := range roleServices {
		c := asMap(asList(props(ecs.t.resource(t, r.taskDef, "AWS::ECS::TaskDefinition"))["ContainerDefinitions"])[0])
		found := false
		for _, e := range asList(c["Secrets"]) {
			if m := asMap(e); m["Name"] == "CHATCHAT_REDIS_PASSWORD" && asMap(m["ValueFrom"])["Ref"] == "RedisAuthSecretArn" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no CHATCHAT_REDIS_PASSWORD from RedisAuthSecretArn", role)
		}
	}
	if pol := jsonOf(props(ecs.t.resource(t, "TaskExecutionRole", "AWS::IAM::Role"))["Policies"]); !strings.Contains(pol, `{"Ref":"RedisAuthSecretArn"}`) {
		t.Errorf("the execution role cannot read the Redis token: %s", pol)
	}
	// Cluster mode (RedisClusterMode enabled): shards with a replica each on the cluster
	// parameter group, the configuration endpoint as the URL, and every task told to use a
	// cluster client and per-room routing.
	if j := jsonOf(rg); !strings.Contains(j, `"NumNodeGroups":{"Fn::If":["RedisClustered",{"Ref":"RedisShards"}`) ||
		!strings.Contains(j, `"default.redis7.cluster.on"`) || !strings.Contains(j, `"AutomaticFailoverEnabled":{"Fn::If":["RedisClustered",true,false]}`) {
		t.Errorf("the replication group has no cluster mode: %s", j)
	}
	if !strings.Contains(url, `rediss://${Redis.ConfigurationEndPoint.Address}`) {
		t.Errorf("RedisUrl %s: in cluster mode it must be the configuration endpoint", url)
	}
	for role, r := range roleServices {
		env := jsonOf(asMap(asList(props(ecs.t.resource(t, r.taskDef, "AWS::ECS::TaskDefinition"))["ContainerDefinitions"])[0])["Environment"])
		if !strings.Contains(env, `{"Name":"CHATCHAT_REDIS_CLUSTER","Value":{"Fn::If":["RedisClustered","true","false"]}}`) ||
			!strings.Contains(env, `{"Name":"CHATCHAT_BUS_MODE","Value":{"Fn::If":["RedisClustered","room","global"]}}`) {
			t.Errorf("%s: the task is not told about cluster mode: %s", role, env)
		}
	}
	if !strings.Contains(jsonOf(props(s.t.resource(t, "RedisSubnetGroup", "AWS::ElastiCache::SubnetGroup"))), "PrivateSubnetIds") {
		t.Error("Redis is not in the private subnets")
	}
}

func TestMediaBucket(t *testing.T) {
	stacks := deployment(t)
	data, ecs := stacks["data.yaml"], stacks["ecs.yaml"]
	b := props(data.t.resource(t, "MediaBucket", "AWS::S3::Bucket"))
	pab := asMap(b["PublicAccessBlockConfiguration"])
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if pab[k] != true {
			t.Errorf("public access block %s = %v, want true", k, pab[k])
		}
	}
	if b["BucketEncryption"] == nil || asMap(b["CorsConfiguration"]) == nil {
		t.Error("bucket lacks encryption or CORS for presigned uploads")
	}
	var expiry bool
	for _, r := range asList(asMap(b["LifecycleConfiguration"])["Rules"]) {
		if asMap(r)["ExpirationInDays"] != nil && asMap(r)["TagFilters"] != nil {
			expiry = true
		}
	}
	if !expiry {
		t.Error("no lifecycle rule expires orphan uploads")
	}
	pol := jsonOf(props(ecs.t.resource(t, "MediaBucketPolicy", "AWS::S3::BucketPolicy")))
	if !strings.Contains(pol, `"Effect":"Deny"`) || !strings.Contains(pol, `"ArnNotEquals":{"aws:PrincipalArn":{"Fn::GetAtt":["HttpTaskRole","Arn"]}}`) {
		t.Errorf("bucket policy does not refuse everyone but the API task role: %s", pol)
	}
}
