#!/usr/bin/env bash
# `make bundle`: checks the OLM bundle (generated into bundle/ by tools/generate.ts) with operator-framework's
# own validator, operator-verify from github.com/operator-framework/api v0.45.0, built as a Go fixture
# (e2e/fixtures/operator-verify; cached outside the tree, keyed by its pins: ~8 min cold on two cores,
# nothing warm). operator-verify exits 0 even when it reports errors, so any `level=error` line fails here.
set -euo pipefail
cd "$(dirname "$0")/../.."
# One package at a time: the machine's two cores are shared.
bin=$(GOFLAGS="${GOFLAGS:-} -p=1" e2e/fixtures/build.sh operator-verify)/operator-verify
output=$("$bin" manifests --object_validate bundle 2>&1) || { echo "$output"; exit 1; }
[ -z "$output" ] || echo "$output"
if grep -q 'level=error' <<<"$output"; then
  echo "bundle: operator-verify reports errors (above)" >&2
  exit 1
fi
echo "bundle: operator-verify found no error in bundle/ ($(grep -c 'level=warning' <<<"$output" || true) warnings)"
