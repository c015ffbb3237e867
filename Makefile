# The README's commands. `make test` installs what it needs first (see scripts/deps.sh).
.PHONY: run test build images lint-cfn

run:
	go run ./cmd/chatchat serve

build:
	CGO_ENABLED=0 go build -o bin/chatchat ./cmd/chatchat

test:
	bash scripts/test.sh

images:
	bash scripts/images.sh

lint-cfn:
	cfn-lint deploy/aws/*.yaml
