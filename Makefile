# The README's commands. `make test` installs what it needs first (see scripts/deps.sh).
.PHONY: run test build images lint-cfn

# The binary the README's ./chatchat commands use. A plain go build reuses the build cache
# (seconds after the first build); the images build their own static binary (make images).
build:
	go build -o chatchat ./cmd/chatchat

run: build
	./chatchat serve

test:
	bash scripts/test.sh

images:
	bash scripts/images.sh

lint-cfn:
	cfn-lint deploy/aws/*.yaml
