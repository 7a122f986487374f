#!/usr/bin/env bash
# Builds the local control plane from the Go module proxy (release-download sites are
# unreachable here) and caches the binaries by version. Rebuilds only what is missing.
#   etcd                      from go.etcd.io/etcd/server/v3  (wrapper module: its go.mod has replaces)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#                             from k8s.io/kubernetes          (wrapper module: staging replaces)
#   kube-proxy                from k8s.io/kubernetes          (the same build; for IN_CLUSTER=1)
#   coredns                   from github.com/coredns/coredns (go install; cluster DNS of the real node)
#   kwok                      from sigs.k8s.io/kwok           (go install, no replaces)
# and the parts of a real node (NODE=real):
#   kubelet                   from k8s.io/kubernetes          (the same wrapper build)
#   containerd, ctr, containerd-shim-runc-v2
#                             from github.com/containerd/containerd/v2
#   runc                      from github.com/opencontainers/runc (cgo, seccomp: Debian's libseccomp-dev)
#   bridge, host-local, loopback, portmap
#                             from github.com/containernetworking/plugins
#   images/                   the pause and job images (images/build_images.sh: Debian's packages)
# Prints the bin directory on stdout; progress goes to stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${DLWS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dlws-devcluster}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
log() { echo "devcluster/build: $*" >&2; }
# Runs one build step and says how long it took, when it built anything.
timed() {
  local t=$SECONDS; "$@"
  (( SECONDS - t < 2 )) || log "$1 took $(( SECONDS - t ))s"
}

k8s_dir=$cache/kubernetes-$K8S_VERSION
containerd_dir=$cache/containerd-$CONTAINERD_VERSION
runc_dir=$cache/runc-$RUNC_VERSION
cni_dir=$cache/cni-plugins-$CNI_PLUGINS_VERSION
etcd_dir=$cache/etcd-$ETCD_VERSION
kwok_dir=$cache/kwok-$KWOK_VERSION
coredns_dir=$cache/coredns-$COREDNS_VERSION
bin=$cache/bin-$K8S_VERSION-$ETCD_VERSION-$KWOK_VERSION-$CONTAINERD_VERSION-$RUNC_VERSION-$CNI_PLUGINS_VERSION-$COREDNS_VERSION

# Installs the Debian packages a build needs, as root; anyone else is told which are missing.
need_debs() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    log "missing Debian packages: ${missing[*]} (install them as root: apt-get install ${missing[*]})"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

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
     && -x $k8s_dir/bin/kube-scheduler && -x $k8s_dir/bin/kubectl && -x $k8s_dir/bin/kubelet \
     && -x $k8s_dir/bin/kube-proxy ]] && return
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
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
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
        k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl k8s.io/kubernetes/cmd/kubelet \
        k8s.io/kubernetes/cmd/kube-proxy)
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

build_containerd() {
  [[ -x $containerd_dir/bin/containerd && -x $containerd_dir/bin/ctr \
     && -x $containerd_dir/bin/containerd-shim-runc-v2 ]] && return
  log "building containerd $CONTAINERD_VERSION"
  local m=github.com/containerd/containerd/v2
  rm -rf "$containerd_dir/bin.tmp"; mkdir -p "$containerd_dir"
  GOBIN=$containerd_dir/bin.tmp go install -trimpath \
    -ldflags "-s -w -X $m/version.Version=$CONTAINERD_VERSION" \
    "$m/cmd/containerd@$CONTAINERD_VERSION" "$m/cmd/ctr@$CONTAINERD_VERSION" \
    "$m/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION"
  rm -rf "$containerd_dir/bin"; mv "$containerd_dir/bin.tmp" "$containerd_dir/bin"
}

build_runc() {
  [[ -x $runc_dir/bin/runc ]] && return
  # containerd's default container spec carries a seccomp profile: runc needs libseccomp (cgo).
  need_debs libseccomp-dev pkg-config gcc libc6-dev
  log "building runc $RUNC_VERSION"
  rm -rf "$runc_dir/bin.tmp"; mkdir -p "$runc_dir"
  CGO_ENABLED=1 GOBIN=$runc_dir/bin.tmp go install -trimpath -tags seccomp \
    -ldflags "-s -w -X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@$RUNC_VERSION"
  rm -rf "$runc_dir/bin"; mv "$runc_dir/bin.tmp" "$runc_dir/bin"
}

build_cni_plugins() {
  [[ -x $cni_dir/bin/bridge && -x $cni_dir/bin/host-local && -x $cni_dir/bin/loopback \
     && -x $cni_dir/bin/portmap ]] && return
  log "building CNI plugins $CNI_PLUGINS_VERSION"
  local m=github.com/containernetworking/plugins/plugins v=$CNI_PLUGINS_VERSION
  rm -rf "$cni_dir/bin.tmp"; mkdir -p "$cni_dir"
  GOBIN=$cni_dir/bin.tmp go install -trimpath -ldflags "-s -w" \
    "$m/main/bridge@$v" "$m/ipam/host-local@$v" "$m/main/loopback@$v" "$m/meta/portmap@$v"
  rm -rf "$cni_dir/bin"; mv "$cni_dir/bin.tmp" "$cni_dir/bin"
}

build_coredns() {
  [[ -x $coredns_dir/bin/coredns ]] && return
  log "building coredns $COREDNS_VERSION"
  rm -rf "$coredns_dir/bin.tmp"; mkdir -p "$coredns_dir"
  GOBIN=$coredns_dir/bin.tmp go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
  rm -rf "$coredns_dir/bin"; mv "$coredns_dir/bin.tmp" "$coredns_dir/bin"
}

start=$(date +%s)
timed build_etcd
timed build_kwok
timed build_kubernetes
timed build_containerd
timed build_runc
timed build_cni_plugins
timed build_coredns
# kube-proxy's nftables mode runs `nft` (IN_CLUSTER=1).
need_debs nftables
mkdir -p "$bin/cni"
ln -sf "$etcd_dir/bin/etcd" "$bin/etcd"
ln -sf "$kwok_dir/bin/kwok" "$bin/kwok"
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do ln -sf "$k8s_dir/bin/$b" "$bin/$b"; done
for b in containerd ctr containerd-shim-runc-v2; do ln -sf "$containerd_dir/bin/$b" "$bin/$b"; done
ln -sf "$runc_dir/bin/runc" "$bin/runc"
ln -sf "$coredns_dir/bin/coredns" "$bin/coredns"
for b in bridge host-local loopback portmap; do ln -sf "$cni_dir/bin/$b" "$bin/cni/$b"; done
rm -rf "$bin/stage"; ln -sfn "$kwok_dir/stage" "$bin/stage"
IMAGES_VERSION=$IMAGES_VERSION timed "$here/images/build_images.sh" "$cache" "$bin" >/dev/null
log "binaries ready in $bin ($(( $(date +%s) - start ))s)"
echo "$bin"
