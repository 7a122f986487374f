#!/usr/bin/env bash
# Builds the local control plane from the Go module proxy (release-download sites are
# unreachable here) and caches the binaries by version. Rebuilds only what is missing.
#   etcd                      from go.etcd.io/etcd/server/v3  (wrapper module: its go.mod has replaces)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                             from k8s.io/kubernetes          (wrapper module: staging replaces)
#   kwok                      from sigs.k8s.io/kwok           (go install, no replaces)
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${DLWS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dlws-devcluster}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
log() { echo "devcluster/build: $*" >&2; }

k8s_dir=$cache/kubernetes-$K8S_VERSION
etcd_dir=$cache/etcd-$ETCD_VERSION
kwok_dir=$cache/kwok-$KWOK_VERSION
bin=$cache/bin-$K8S_VERSION-$ETCD_VERSION-$KWOK_VERSION

build_etcd() {
  [[ -x $etcd_dir/bin/etcd ]] && return
  log "building etcd $ETCD_VERSION"
  local w=$etcd_dir/src; rm -rf "$w"; mkdir -p "$w"
  cat >"$w/go.mod" <<MOD
module dlws.local/etcdwrapper

go 1.26.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
MOD
  (cd "$w" && go mod download go.etcd.io/etcd/server/v3 && go get go.etcd.io/etcd/server/v3@"$ETCD_VERSION" >&2 \
     && go build -trimpath -ldflags "-s -w" -o "$w/etcd.tmp" go.etcd.io/etcd/server/v3)
  mkdir -p "$etcd_dir/bin"; mv "$w/etcd.tmp" "$etcd_dir/bin/etcd"
}

build_kubernetes() {
  [[ -x $k8s_dir/bin/kube-apiserver && -x $k8s_dir/bin/kube-controller-manager \
     && -x $k8s_dir/bin/kube-scheduler && -x $k8s_dir/bin/kubectl ]] && return
  log "building kubernetes $K8S_VERSION (cold: tens of minutes on 2 cores)"
  local w=$k8s_dir/src; rm -rf "$w"; mkdir -p "$w"
  local modfile
  modfile=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  local minor=${K8S_VERSION#v1.}; minor=${minor%%.*}
  {
    echo "module dlws.local/k8swrapper"; echo
    grep -E '^go ' "$modfile"; echo
    grep -E '^godebug ' "$modfile" || true; echo
    echo "require k8s.io/kubernetes $K8S_VERSION"; echo
    echo "replace ("
    # Every staging module k8s.io/kubernetes replaces with ./staging/... is taken at v0.<minor>.<patch>.
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$modfile" \
      | while read -r m; do echo "  $m => $m v0.${K8S_VERSION#v1.}"; done
    echo ")"
  } >"$w/go.mod"
  cat >"$w/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  local v=k8s.io/component-base/version cv=k8s.io/client-go/pkg/version
  local ld="-s -w"
  for p in $v $cv; do
    ld+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  (cd "$w" && go mod tidy -e >&2 2>&1 | tail -5 >&2; cd "$w" \
     && go build -tags tools -trimpath -ldflags "$ld" -o "$w/out/" \
        k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  mkdir -p "$k8s_dir/bin"; mv "$w"/out/* "$k8s_dir/bin/"
}

build_kwok() {
  [[ -x $kwok_dir/bin/kwok ]] && return
  log "building kwok $KWOK_VERSION"
  mkdir -p "$kwok_dir"
  GOBIN=$kwok_dir/bin.tmp go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  rm -rf "$kwok_dir/bin"; mv "$kwok_dir/bin.tmp" "$kwok_dir/bin"
  # kwok's stage files ship inside its module; keep a copy beside the binary.
  local stage
  stage=$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage
  rm -rf "$kwok_dir/stage"; cp -r "$stage" "$kwok_dir/stage"; chmod -R u+w "$kwok_dir/stage"
}

start=$(date +%s)
build_etcd
build_kwok
build_kubernetes
mkdir -p "$bin"
ln -sf "$etcd_dir/bin/etcd" "$bin/etcd"
ln -sf "$kwok_dir/bin/kwok" "$bin/kwok"
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do ln -sf "$k8s_dir/bin/$b" "$bin/$b"; done
rm -rf "$bin/stage"; ln -sfn "$kwok_dir/stage" "$bin/stage"
log "binaries ready in $bin ($(( $(date +%s) - start ))s)"
echo "$bin"
