#!/usr/bin/env bash
# Builds the editor (web/ → web/dist) when its sources changed; a no-op otherwise.
# Without npm it says so and leaves the server's "editor not built" page in place.
set -euo pipefail
cd "$(dirname "$0")/../web"
if ! command -v npm >/dev/null 2>&1; then
  echo "build_web: npm not found; the server will answer / with a page explaining how to build the editor" >&2
  exit 0
fi
deps_hash=$(cat package.json package-lock.json | sha256sum | cut -c1-16)
if [ ! -f "node_modules/.deps-$deps_hash" ]; then
  echo "build_web: installing editor dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  touch "node_modules/.deps-$deps_hash"
fi
src_hash=$( (find src index.html vite.config.ts tsconfig.json package-lock.json -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
if [ ! -f "dist/.src-$src_hash" ]; then
  echo "build_web: building the editor"
  npm run build --silent
  touch "dist/.src-$src_hash"
fi
