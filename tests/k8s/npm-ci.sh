#!/bin/sh
# Installs the npm packages of tests/k8s (package-lock.json) with `npm ci`
# when node_modules is missing or was made from another lock file.  Quiet
# when there is nothing to do; npm's messages go to stderr.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
stamp=$here/node_modules/.visits-package-lock.json
cmp -s "$here/package-lock.json" "$stamp" 2>/dev/null && exit 0
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) >&2
cp "$here/package-lock.json" "$stamp"
