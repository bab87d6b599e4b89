#!/usr/bin/env bash
# tests/lab/roll.sh — a signed lab root whose KSK rolls (RFC 5011), for the resolver's
# auto-trust-anchor-file test (tests/integration/test_resolver_rfc5011.py).  One NSD serves
# the root zone "." on 127.N.0.1:53; the zone is re-signed per phase and NSD reloads it:
#
#   tests/lab/roll.sh start DIR        keys (ECDSAP256SHA256: KSK1, KSK2, ZSK), phase a,
#                                      NSD started, wait (bounded) until it answers
#   tests/lab/roll.sh phase DIR P      re-sign the root for phase P and reload NSD; wait
#                                      (bounded) until NSD serves the phase's DNSKEY set
#   tests/lab/roll.sh stop DIR         stop NSD by PID (TERM, KILL after a deadline)
#
# Phases (what the DNSKEY RRset holds and which keys sign it; the ZSK signs the rest):
#   a  KSK1, ZSK                  signed by KSK1
#   b  KSK1, KSK2, ZSK            signed by KSK1 (KSK2 published: a resolver starts its
#                                 add hold-down)
#   d  KSK1+REVOKE, KSK2, ZSK     signed by KSK1+REVOKE (its self-signature) and by KSK2
# Every record at or above the DNSKEY set has TTL 1, so a resolver asks again each second.
#
# Must run as root (port 53).  Exit status 77 = prerequisite missing (skip).  The net is the
# first free one of 127.73 … 127.76 (lab.sh uses 127.53 … 127.62, signed.sh 127.63 … 127.72,
# test_resolver_diff.py 127.77);
# read it from DIR/lab.json.  Files: DIR/root.hints, DIR/ksk1.dnskey (the first KSK as an
# auto-trust-anchor-file), DIR/ksk2.ds (the second KSK's DS, as IANA publishes a root
# anchor), DIR/lab.env + lab.json (addresses, key tags), keys/, zones/, nsd/root/.
# zone heads are printf formats with a literal $TTL
# shellcheck disable=SC2016
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# die, skip, now_us, net_free and gen_nsd_conf; this file's cmd_start, cmd_stop and main
# replace nsdlab.sh's (the roll lab is one NSD whose zone is re-signed by phase)
# shellcheck source=SCRIPTDIR/nsdlab.sh
. "$HERE/nsdlab.sh"

# what nsdlab.sh's net_free and gen_nsd_conf read: one server, root, serving "." from
# DIR/zones/root.signed with its files in DIR/nsd/root/
PROG=roll.sh LAB_IDENTITY=roll LAB_ZONE_SUFFIX=.signed
declare -A LAB_ADDR=() LAB_ZONES=([root]=.)
LAB_DEAD_ADDRS=()
STOP_TIMEOUT=5
WAIT_TIMEOUT=10

# the DNSKEY rdata (flags protocol algorithm key) of key file $1 (.key)
key_rdata() { sed 's/;.*//' "$1" | awk '$3 == "DNSKEY" || $4 == "DNSKEY" { for (i = 1; i <= NF; i++) if ($i == "DNSKEY") { print $(i+1), $(i+2), $(i+3), $(i+4); exit } }'; }
key_tag() { ldns-key2ds -n -2 "$1" | awk '{ print $5 }'; }

gen_keys() {
  local d=$1 k
  cd "$d/keys"
  k=$(ldns-keygen -r /dev/urandom -a ECDSAP256SHA256 -k .) || die "ldns-keygen failed"
  for f in key private; do mv "$k.$f" "ksk1.$f"; done
  k=$(ldns-keygen -r /dev/urandom -a ECDSAP256SHA256 -k .) || die "ldns-keygen failed"
  for f in key private; do mv "$k.$f" "ksk2.$f"; done
  k=$(ldns-keygen -r /dev/urandom -a ECDSAP256SHA256 .) || die "ldns-keygen failed"
  for f in key private; do mv "$k.$f" "zsk.$f"; done
  rm -f ./*.ds
  # KSK1 with the REVOKE bit (flags 257 + 128): same private key, new key tag
  cp ksk1.private ksk1rev.private
  sed 's/DNSKEY\([[:space:]]*\)257/DNSKEY\1385/' ksk1.key >ksk1rev.key
  cd - >/dev/null
  printf '. 1 IN DNSKEY %s\n' "$(key_rdata "$d/keys/ksk1.key")" >"$d/ksk1.dnskey"
  ldns-key2ds -n -2 "$d/keys/ksk2.key" | tr -s '\t' ' ' >"$d/ksk2.ds"
}

# sign_phase DIR P: zones/root.signed for phase P (written aside, then renamed)
sign_phase() {
  local d=$1 p=$2 k=$1/keys z=$1/zones dnskeys signers
  case $p in
    a) dnskeys="ksk1 zsk"; signers="ksk1 zsk" ;;
    b) dnskeys="ksk1 ksk2 zsk"; signers="ksk1 zsk" ;;
    d) dnskeys="ksk1rev ksk2 zsk"; signers="ksk1rev ksk2 zsk" ;;
    *) die "unknown phase '$p' (a, b or d)" ;;
  esac
  {
    printf '$TTL 1\n. 1 IN SOA a.root-servers.lab. hostmaster.root-servers.lab. %s 1 1 604800 1\n' \
      "$(date +%s)"
    printf '. 1 IN NS a.root-servers.lab.\na.root-servers.lab. 1 IN A %s\n' "$ADDR"
    printf 'probe.roll. 1 IN A 127.0.0.1\n'
    for key in $dnskeys; do printf '. 1 IN DNSKEY %s\n' "$(key_rdata "$k/$key.key")"; done
  } >"$z/root.zone"
  local args=()
  for key in $signers; do args+=("$k/$key"); done
  ldns-signzone -d -o . -f "$z/root.signed.tmp" "$z/root.zone" "${args[@]}" 2>"$z/sign.err" ||
    { cat "$z/sign.err" >&2; die "ldns-signzone (phase $p) failed"; }
  mv "$z/root.signed.tmp" "$z/root.signed"
  echo "$p" >"$d/phase"
}

# the DNSKEY flags NSD serves now, sorted, e.g. "256 257 385"
served_flags() {
  dig @"$ADDR" +norec +time=1 +tries=1 +noall +answer . DNSKEY 2>/dev/null |
    awk '$4 == "DNSKEY" { print $5 }' | sort | tr '\n' ' ' | sed 's/ $//'
}

want_flags() {
  case $1 in a) echo "256 257" ;; b) echo "256 257 257" ;; d) echo "256 257 385" ;; esac
}

wait_phase() {
  local p=$1 deadline
  deadline=$(($(now_us) + WAIT_TIMEOUT * 1000000))
  until [ "$(served_flags)" = "$(want_flags "$p")" ]; do
    [ "$(now_us)" -lt "$deadline" ] || die "NSD does not serve phase $p after ${WAIT_TIMEOUT}s (serves: $(served_flags))"
    sleep 0.05
  done
}

# the pid of the NSD started from DIR, if it runs
nsd_pid() {
  local pid n=$1/nsd/root
  [ -s "$n/nsd.pid" ] || return 0
  read -r pid <"$n/nsd.pid" || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$n/nsd.conf" && echo "$pid"
  return 0
}

cmd_stop() {
  local d=$1 pid deadline
  pid=$(nsd_pid "$d")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$(($(now_us) + STOP_TIMEOUT * 1000000))
  while [ -n "$(nsd_pid "$d")" ]; do
    if [ "$(now_us)" -ge "$deadline" ]; then
      echo "$PROG: NSD $pid did not stop in ${STOP_TIMEOUT}s; KILL (its process group)" >&2
      # NSD's main process leads its own process group (its server and xfrd children)
      [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
      break
    fi
    sleep 0.05
  done
  rm -f "$d/nsd/root/nsd.pid"
  echo "roll lab: stopped NSD $pid"
}

cmd_start() {
  local d=$1 n=$1/nsd/root net launcher
  [ "$(id -u)" -eq 0 ] || skip "must run as root (NSD binds port 53 on 127.73.0.1)"
  for c in nsd nsd-control ldns-signzone ldns-keygen ldns-key2ds dig; do
    command -v "$c" >/dev/null || skip "$c not installed (packages nsd, ldnsutils, bind9-dnsutils)"
  done
  cmd_stop "$d" >/dev/null
  ADDR=""
  for net in 127.73 127.74 127.75 127.76; do
    LAB_ADDR[root]=$net.0.1
    if net_free; then ADDR=$net.0.1; break; fi
  done
  [ -n "$ADDR" ] || die "127.73 … 127.76 are all in use (stale roll labs? see ss -lunp 'sport = :53')"
  rm -rf "$d/keys" "$d/zones" "$d/nsd"
  mkdir -p "$d/keys" "$d/zones" "$n"
  gen_keys "$d"
  sign_phase "$d" a
  gen_nsd_conf "$d" root control
  printf '.  3600000 NS a.root-servers.lab.\na.root-servers.lab. 3600000 A %s\n' "$ADDR" >"$d/root.hints"
  local t1 t2 t1r
  t1=$(key_tag "$d/keys/ksk1.key"); t2=$(key_tag "$d/keys/ksk2.key")
  t1r=$(key_tag "$d/keys/ksk1rev.key")
  cat >"$d/lab.env" <<EOF
LAB_ADDR='$ADDR'
LAB_ROOT_HINTS='$d/root.hints'
LAB_KSK1_FILE='$d/ksk1.dnskey'
LAB_KSK2_DS_FILE='$d/ksk2.ds'
LAB_KSK1_TAG='$t1'
LAB_KSK1_REVOKED_TAG='$t1r'
LAB_KSK2_TAG='$t2'
LAB_PROBE_NAME='probe.roll.'
EOF
  printf '{"LAB_ADDR": "%s", "LAB_ROOT_HINTS": "%s", "LAB_KSK1_FILE": "%s", "LAB_KSK2_DS_FILE": "%s", "LAB_KSK1_TAG": %s, "LAB_KSK1_REVOKED_TAG": %s, "LAB_KSK2_TAG": %s, "LAB_PROBE_NAME": "probe.roll."}\n' \
    "$ADDR" "$d/root.hints" "$d/ksk1.dnskey" "$d/ksk2.ds" "$t1" "$t1r" "$t2" >"$d/lab.json"
  nsd -c "$n/nsd.conf" </dev/null >"$n/nsd.stderr" 2>&1 &
  launcher=$!
  wait "$launcher" || { cat "$n/nsd.stderr" "$n/nsd.log" >&2 2>/dev/null; cmd_stop "$d"; die "nsd failed to start"; }
  if ! ( wait_phase a ) 2>"$n/wait.err"; then
    cat "$n/wait.err" "$n/nsd.log" >&2 2>/dev/null
    cmd_stop "$d" >/dev/null
    die "NSD on $ADDR does not answer"
  fi
  echo "roll lab: up in $d, root on $ADDR (KSK1 $t1, revoked $t1r, KSK2 $t2)"
}

cmd_phase() {
  local d=$1 p=$2 n=$1/nsd/root
  [ -n "$(nsd_pid "$d")" ] || die "no roll lab runs in $d"
  sign_phase "$d" "$p"
  nsd-control -c "$n/nsd.conf" reload . >"$n/control.out" 2>&1 ||
    { cat "$n/control.out" >&2; die "nsd-control reload failed"; }
  wait_phase "$p"
  echo "roll lab: phase $p served"
}

main() {
  [ $# -ge 2 ] || { echo "usage: $0 start|phase|stop DIR [P]" >&2; exit 2; }
  local cmd=$1 d=$2
  mkdir -p "$d"
  d=$(cd "$d" && pwd)
  case $d in *[[:space:]\"\']*) die "DIR must not contain spaces or quotes: $d" ;; esac
  ADDR=$(sed -n "s/^LAB_ADDR='\(.*\)'$/\1/p" "$d/lab.env" 2>/dev/null || true)
  case $cmd in
    start) cmd_start "$d" ;;
    phase) [ $# -eq 3 ] || die "usage: $0 phase DIR a|b|d"; cmd_phase "$d" "$3" ;;
    stop) cmd_stop "$d" ;;
    *) echo "usage: $0 start|phase|stop DIR [P]" >&2; exit 2 ;;
  esac
}

main "$@"
