// Package aws holds ChatChat's CloudFormation templates (main.yaml and its nested stacks,
// and ecr.yaml) and, in its tests, the checks that they encode the seed's deployment:
// sizes, scaling bounds, encryption, and who may reach whom. It has no Go API; see
// docs/deploy-aws.md for how the templates are deployed.
package aws
