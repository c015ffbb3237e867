#!/usr/bin/env bash
# Builds ChatChat's three container images without Docker and, given a registry, pushes
# them. The images are OCI layouts under dist/images/ (and docker-load tarballs with
# --tarball).
#
#   scripts/images.sh                                   # build, tag = git revision
#   scripts/images.sh --docdb-ca global-bundle.pem \
#       --push 123456789012.dkr.ecr.eu-west-1.amazonaws.com   # build and push to ECR
#
# Options (the rest are passed on to `go run ./cmd/chatchat-image`, see its --help):
#   --push REGISTRY   push REGISTRY/chat-chat-{http,ws,notification}:TAG. For an ECR
#                     registry the script logs in with `aws ecr get-login-password` first.
#   --tag TAG         default: the short git revision (+ "-dirty" with local changes)
#   --out DIR         default: dist/images
# Pushing needs network access to the registry; it is not exercised by the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

# The version of crane used to log in to the registry; the same module as the builder.
CRANE="github.com/google/go-containerregistry/cmd/crane@v0.22.1"

tag=""
push=""
out="dist/images"
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --push) push="$2"; shift 2 ;;
    --push=*) push="${1#*=}"; shift ;;
    --tag) tag="$2"; shift 2 ;;
    --tag=*) tag="${1#*=}"; shift ;;
    --out) out="$2"; shift 2 ;;
    --out=*) out="${1#*=}"; shift ;;
    *) pass+=("$1"); shift ;;
  esac
done

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ -z "$tag" ]; then
  tag=$(git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
  if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
    tag="$tag-dirty"
  fi
fi
# Reproducible: the images are dated by the commit, not by the clock.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}"

args=(--out "$out" --tag "$tag" --revision "$revision" "${pass[@]}")

if [ -n "$push" ]; then
  # ECR registries: <account>.dkr.ecr.<region>.amazonaws.com
  if [[ "$push" =~ ^[0-9]+\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$ ]]; then
    region="${BASH_REMATCH[1]}"
    command -v aws >/dev/null || { echo "images: the aws CLI is needed to log in to $push" >&2; exit 1; }
    echo "== logging in to $push"
    aws ecr get-login-password --region "$region" |
      go run "$CRANE" auth login "$push" --username AWS --password-stdin
  fi
  args+=(--push "$push")
fi

echo "== building images (tag $tag) into $out"
go run ./cmd/chatchat-image "${args[@]}"
echo "== done; deploy with ImageTag=$tag (docs/deploy-aws.md)"
