#!/usr/bin/env bash
# Obtain the pinned llama.cpp source into llama.cpp/src (see llama.cpp/VERSION).
#
# Route 1 (default, needs only the npm registry):
#   npm pack node-llama-cpp@<ver>  ->  package/llama/gitRelease.bundle  ->  git clone
#   The commit must equal LLAMA_CPP_COMMIT. node-llama-cpp's own source patches
#   (package/llama/patches/*.diff) are then applied, as node-llama-cpp does when it
#   builds llama.cpp, unless --no-patches is given.
#   InferFlux's own fixes (llama.cpp/patches/*.diff; llama.cpp/README.md says why) are
#   applied after them, on either route and also to an already fetched tree.
# Route 2 (fallback, only if route 1 fails and github.com is reachable):
#   git clone --depth 1 --branch <tag> https://github.com/<repo>
#   The npm bundle is a squashed commit, so its hash cannot be compared with upstream's:
#   this route only checks the tag, prints a warning and applies none of node-llama-cpp's
#   patches (InferFlux's own are still applied).
#
# Idempotent: when llama.cpp/src is already at the pinned commit it only makes sure
# InferFlux's own patches are in.
#
# Usage: bash llama.cpp/fetch-source.sh [--tarball PATH/node-llama-cpp-X.tgz] [--no-patches] [--force]
#   --tarball PATH   use an already downloaded `npm pack` tarball (fully offline)
#   --no-patches     apply no patches: neither node-llama-cpp's nor InferFlux's (pristine source)
#   --force          fetch again; the existing llama.cpp/src is replaced only on success
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SRC="$HERE/src"
MARKER="$SRC/.inferflux-pin"

# shellcheck source=/dev/null
. "$HERE/VERSION"
: "${NODE_LLAMA_CPP_VERSION:?missing in VERSION}" "${LLAMA_CPP_COMMIT:?missing in VERSION}"
: "${LLAMA_CPP_TAG:?missing in VERSION}" "${LLAMA_CPP_REPO:?missing in VERSION}"

TARBALL=""
PATCHES=1
FORCE=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tarball) TARBALL="${2:?--tarball needs a path}"; shift 2 ;;
    --no-patches) PATCHES=0; shift ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "fetch-source.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
done

log() { echo "[fetch-source] $*" >&2; }
die() { echo "[fetch-source] ERROR: $*" >&2; exit 1; }

command -v git >/dev/null || die "git is required"

# --- InferFlux's own patches (llama.cpp/patches/*.diff) ---------------------------
# Applied to <tree> unless already there; each one applied is added to the marker's
# patches= line, so build info shows it. A patch that neither applies nor is already in
# the tree stops the script: building without a fix we depend on would be worse.
apply_own_patches() {
  local tree="$1" p name
  [ "$PATCHES" = 1 ] || return 0
  for p in "$HERE"/patches/*.diff; do
    [ -e "$p" ] || continue
    name="inferflux/$(basename "$p")"
    local old="$tree/.inferflux-patches/$name"
    if [ -f "$old" ] && ! cmp -s "$old" "$p" && git -C "$tree" apply --check --reverse "$old" 2>/dev/null; then
      # an earlier version of this patch is in the tree: take it out, then apply this one
      git -C "$tree" apply --reverse "$old" && log "patch $name: earlier version taken out"
    fi
    if git -C "$tree" apply --check --reverse "$p" 2>/dev/null; then
      log "patch $name: already in the source"
    elif git -C "$tree" apply "$p"; then
      log "patch $name: applied"
    else
      die "patch $name did not apply to $tree"
    fi
    if ! grep -q "^patches=.*$name" "$tree/.inferflux-pin" 2>/dev/null; then
      sed -i "s|^patches=\(.*\)$|patches=\1 $name|; s|^patches= |patches=|" "$tree/.inferflux-pin"
    fi
    mkdir -p "$tree/.inferflux-patches/inferflux"
    cp "$p" "$tree/.inferflux-patches/$name"
  done
}

# --- already there? (--force: fetch anyway; the old tree is replaced only on success) ----
if [ "$FORCE" = 1 ]; then
  :
elif [ -d "$SRC/.git" ]; then
  head="$(git -C "$SRC" rev-parse HEAD 2>/dev/null || true)"
  if [ -f "$MARKER" ] && grep -q "^commit=$LLAMA_CPP_COMMIT\$" "$MARKER" && [ "$head" = "$LLAMA_CPP_COMMIT" ]; then
    log "llama.cpp/src already at $LLAMA_CPP_COMMIT ($(grep '^route=' "$MARKER" | cut -d= -f2))"
    apply_own_patches "$SRC"
    exit 0
  fi
  if [ -f "$MARKER" ] && grep -q "^route=git-tag" "$MARKER" && grep -q "^tag=$LLAMA_CPP_TAG\$" "$MARKER"; then
    log "llama.cpp/src is tag $LLAMA_CPP_TAG from $LLAMA_CPP_REPO (fallback route)"
    apply_own_patches "$SRC"
    exit 0
  fi
  if [ "$head" = "$LLAMA_CPP_COMMIT" ]; then
    log "WARNING: llama.cpp/src is at $LLAMA_CPP_COMMIT but was not fetched by this script (no valid .inferflux-pin), so node-llama-cpp's patches may be missing; --force re-fetches"
    exit 0
  fi
  die "llama.cpp/src exists but is not the pinned source (HEAD=$head, want $LLAMA_CPP_COMMIT). Re-run with --force to replace it."
elif [ -e "$SRC" ]; then
  die "llama.cpp/src exists but is not a git checkout. Remove it or re-run with --force."
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/inferflux-llama-src.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

# --- route 1: the git bundle inside the npm package ----------------------------
fetch_npm() {
  local tgz="$TARBALL"
  if [ -z "$tgz" ]; then
    command -v npm >/dev/null || { log "npm not found"; return 1; }
    log "npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION"
    (cd "$TMP" && npm pack "node-llama-cpp@$NODE_LLAMA_CPP_VERSION" --silent >/dev/null) || { log "npm pack failed"; return 1; }
    tgz="$TMP/node-llama-cpp-$NODE_LLAMA_CPP_VERSION.tgz"
  fi
  [ -f "$tgz" ] || { log "tarball not found: $tgz"; return 1; }
  tar -xzf "$tgz" -C "$TMP" package/package.json package/llama/gitRelease.bundle \
      package/llama/binariesGithubRelease.json || { log "tarball has no package/llama/gitRelease.bundle"; return 1; }
  tar -xzf "$tgz" -C "$TMP" package/llama/patches 2>/dev/null || true

  local pkgver release
  pkgver="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$TMP/package/package.json" | head -1)"
  release="$(sed -n 's/^ *"release": *"\([^"]*\)".*/\1/p' "$TMP/package/llama/binariesGithubRelease.json" | head -1)"
  [ "$pkgver" = "$NODE_LLAMA_CPP_VERSION" ] || log "WARNING: tarball is node-llama-cpp $pkgver, VERSION pins $NODE_LLAMA_CPP_VERSION"
  [ "$release" = "$LLAMA_CPP_TAG" ] || log "WARNING: tarball's llama.cpp release is $release, VERSION pins $LLAMA_CPP_TAG"

  log "git clone gitRelease.bundle -> llama.cpp/src.tmp"
  rm -rf "$SRC.tmp"
  git -c advice.detachedHead=false clone --quiet "$TMP/package/llama/gitRelease.bundle" "$SRC.tmp" || { log "git clone of the bundle failed"; return 1; }
  local head
  head="$(git -C "$SRC.tmp" rev-parse HEAD)"
  if [ "$head" != "$LLAMA_CPP_COMMIT" ]; then
    rm -rf "$SRC.tmp"
    die "bundle commit $head != pinned $LLAMA_CPP_COMMIT (update llama.cpp/VERSION deliberately if the pin changed)"
  fi
  git -C "$SRC.tmp" remote remove origin
  git -C "$SRC.tmp" tag -f "$LLAMA_CPP_TAG" >/dev/null

  local applied=""
  if [ "$PATCHES" = 1 ] && [ -d "$TMP/package/llama/patches" ]; then
    local p name
    for p in "$TMP"/package/llama/patches/*.diff; do
      [ -e "$p" ] || continue
      name="$(basename "$p")"
      if git -C "$SRC.tmp" apply --check --reverse --ignore-whitespace "$p" 2>/dev/null; then
        log "patch $name: already in the source, skipped"
      elif git -C "$SRC.tmp" apply --ignore-whitespace "$p"; then
        log "patch $name: applied"
        applied="$applied $name"
        mkdir -p "$SRC.tmp/.inferflux-patches"
        cp "$p" "$SRC.tmp/.inferflux-patches/$name"
      else
        log "WARNING: patch $name from node-llama-cpp did not apply; building may fail or differ from the npm prebuilt"
      fi
    done
  fi
  printf 'route=npm-bundle\nnode_llama_cpp=%s\ntag=%s\ncommit=%s\npatches=%s\n' \
    "$NODE_LLAMA_CPP_VERSION" "$LLAMA_CPP_TAG" "$head" "${applied# }" > "$SRC.tmp/.inferflux-pin"
  apply_own_patches "$SRC.tmp"
  rm -rf "$SRC"
  mv "$SRC.tmp" "$SRC"
  log "llama.cpp/src at $head (node-llama-cpp $NODE_LLAMA_CPP_VERSION, llama.cpp $LLAMA_CPP_TAG)"
}

# --- route 2: upstream git tag ---------------------------------------------------
fetch_git() {
  local url="https://github.com/$LLAMA_CPP_REPO"
  log "fallback: git clone --depth 1 --branch $LLAMA_CPP_TAG $url"
  rm -rf "$SRC.tmp"
  git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$LLAMA_CPP_TAG" "$url" "$SRC.tmp" || { rm -rf "$SRC.tmp"; return 1; }
  local head
  head="$(git -C "$SRC.tmp" rev-parse HEAD)"
  log "WARNING: upstream tag $LLAMA_CPP_TAG is commit $head; the pinned npm bundle is a squashed commit" \
      "($LLAMA_CPP_COMMIT), so the hashes cannot be compared and node-llama-cpp's patches are not applied"
  printf 'route=git-tag\nrepo=%s\ntag=%s\ncommit=%s\npatches=\n' "$LLAMA_CPP_REPO" "$LLAMA_CPP_TAG" "$head" > "$SRC.tmp/.inferflux-pin"
  apply_own_patches "$SRC.tmp"
  rm -rf "$SRC"
  mv "$SRC.tmp" "$SRC"
}

if fetch_npm; then exit 0; fi
rm -rf "$SRC.tmp"
log "npm route failed; trying the upstream git tag"
if fetch_git; then exit 0; fi
die "could not obtain llama.cpp: npm pack node-llama-cpp@$NODE_LLAMA_CPP_VERSION and git clone of $LLAMA_CPP_REPO@$LLAMA_CPP_TAG both failed"
