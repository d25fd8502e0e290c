#!/usr/bin/env bash
# Makes a cluster CA and one certificate per node for courier-node's mutual
# TLS (--cluster-cert, --cluster-key, --cluster-ca; docs/operations.md,
# "Cluster TLS"). For test and staging clusters: production CAs usually live
# elsewhere (an offline CA, Vault, cert-manager); any CA works if each node
# certificate is signed by it and allows TLS client and server use.
#
#   scripts/make-cluster-certs.sh --out DIR --nodes n1,n2,n3 [--hosts H1,H2] [--days D]
#
# DIR gets ca.pem + ca.key (kept and reused if present, so a node can be
# added later) and <node>.pem + <node>.key for each node. Keys are EC P-256,
# unencrypted PEM (courier-node reads no passphrase), mode 600. --hosts adds
# DNS names or IPs to every node's subjectAltName (CAF does not check host
# names; the names are for people and other tools).
set -euo pipefail

out=""
nodes=""
hosts=""
days=825
while (($#)); do
  case "$1" in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --nodes) nodes=${2:?--nodes needs a list}; shift 2 ;;
    --hosts) hosts=${2:?--hosts needs a list}; shift 2 ;;
    --days) days=${2:?--days needs a number}; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-cluster-certs: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] && [ -n "$nodes" ] || { echo "make-cluster-certs: needs --out DIR and --nodes n1,n2,..." >&2; exit 2; }
[[ "$days" =~ ^[0-9]+$ ]] && ((days > 0)) || { echo "make-cluster-certs: --days must be a positive number" >&2; exit 2; }
command -v openssl >/dev/null || { echo "make-cluster-certs: the openssl command is missing (scripts/bootstrap.sh installs it)" >&2; exit 1; }

mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [ -f "$out/ca.pem" ] && [ -f "$out/ca.key" ]; then
  echo "make-cluster-certs: reusing the CA in $out/ca.pem"
else
  newkey "$out/ca.key"
  openssl req -x509 -new -key "$out/ca.key" -sha256 -days "$days" \
    -subj "/CN=courier cluster CA $(date -u +%Y%m%dT%H%M%SZ)-$RANDOM" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$out/ca.pem"
  echo "make-cluster-certs: new CA $out/ca.pem"
fi

IFS=, read -ra node_list <<<"$nodes"
IFS=, read -ra host_list <<<"$hosts"
for node in "${node_list[@]}"; do
  [[ "$node" =~ ^[A-Za-z0-9._-]{1,64}$ ]] || { echo "make-cluster-certs: bad node id '$node'" >&2; exit 2; }
  san="DNS:$node,DNS:localhost,IP:127.0.0.1"
  for h in "${host_list[@]}"; do
    [ -z "$h" ] && continue
    if [[ "$h" =~ ^[0-9.]+$ || "$h" == *:* ]]; then san+=",IP:$h"; else san+=",DNS:$h"; fi
  done
  cat >"$tmp/$node.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=$san
EOF
  newkey "$out/$node.key"
  openssl req -new -key "$out/$node.key" -subj "/CN=$node" -out "$tmp/$node.csr"
  openssl x509 -req -in "$tmp/$node.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -sha256 -days "$days" \
    -extfile "$tmp/$node.ext" -out "$out/$node.pem" 2>/dev/null
  openssl verify -CAfile "$out/ca.pem" -purpose sslclient "$out/$node.pem" >/dev/null
  openssl verify -CAfile "$out/ca.pem" -purpose sslserver "$out/$node.pem" >/dev/null
  echo "make-cluster-certs: $out/$node.pem + $out/$node.key"
done
chmod 644 "$out"/*.pem
