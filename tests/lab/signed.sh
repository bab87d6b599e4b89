#!/usr/bin/env bash
# tests/lab/signed.sh — a DNSSEC-signed DNS hierarchy on loopback (NSD plus one scripted
# server), the lab that duet-resolver's validator is tested against.  Same conventions as
# tests/lab/lab.sh, whose unsigned lab it leaves alone:
#
#   tests/lab/signed.sh start  DIR   generate keys, zones (signed with ldns-signzone) and
#                                    configs in DIR, start every server, wait (bounded) until
#                                    each one answers for each of its zones
#   tests/lab/signed.sh stop   DIR   stop every server started from DIR, by PID: TERM, then
#                                    KILL after a deadline; idempotent
#   tests/lab/signed.sh status DIR   show each server; exit 0 if all answer, 1 if some do
#                                    not, 3 if none is running
#
# Must run as root (port 53).  Exit status 77 = prerequisite missing (skip).
# Environment: LAB_NET (127.N): put the lab in 127.N.0.0/16, that one or fail.  Unset: 127.63,
#                or when another signed lab holds it, the next free one of 127.64 … 127.72
#                (lab.sh uses 127.53 … 127.62) — tests must read addresses from DIR/lab.env;
#              LAB_START_TIMEOUT / LAB_STOP_TIMEOUT in seconds (default 20 / 5);
#              SLAB_BULK_COUNT (default 2000) = number of hNNNN.bulk.sig. names (the signed
#                cache-miss benchmark, bench/resolver_signed.sh), 1..100000.
#
# ─── Servers (default net 127.63) ────────────────────────────────────────────────────────
#  root     127.63.0.1  .  (KSK + ZSK, RSASHA256 = 8, NSEC; also holds a.root-servers.lab.)
#  tld      127.63.1.1  sig.  (one CSK, ECDSAP256SHA256 = 13, NSEC)
#  auth     127.63.2.1  the signed second-level zones below (NSD)
#  nonsec   127.63.3.1  nonsec.sig. (tests/lab/signed_auth.py: answers NXDOMAIN without NSEC)
#  insec    127.63.4.1  unsigned zones: insecure.sig., unknownalg.sig., unsigned.optout.sig.
#  bulk     127.63.5.1  bulk.sig. (NSD; the signed cache-miss benchmark's zone)
#
# ─── Zones under sig. and what a validator must conclude ───────────────────────────────
#  nsec.sig.        alg 13, NSEC, wildcard *.wild                        secure
#  nsec3.sig.       alg 8, NSEC3 salt 'c0ffee', 5 iterations, opt-out,   secure
#                   wildcard *.wild; unsigned.optout.sig. is an insecure
#                   (opt-out) delegation                                 insecure below it
#  nsec3iter.sig.   alg 13, NSEC3 with 200 iterations (> 150, RFC 9276): positive answers
#                   are secure, anything that needs an NSEC3 proof is insecure
#  ed.sig.          alg 15 (ED25519), NSEC                               secure
#  insecure.sig.    unsigned, no DS in sig.                              insecure
#  unknownalg.sig.  DS and DNSKEY with algorithm 253 (PRIVATEDNS) only   insecure
#  expired.sig.     signatures expired in 2020                           bogus (EDE 7)
#  wrongkey.sig.    www's RRSIG is made by a key not in the DNSKEY set   bogus (EDE 9)
#  badds.sig.       the DS in sig. matches no key of the zone            bogus (EDE 9)
#  norrsig.sig.     www's A RRset has no RRSIG                           bogus (EDE 10)
#  nonsec.sig.      NXDOMAIN without NSEC records                        bogus (EDE 12)
#  bulk.sig.        alg 13 (one CSK), NSEC; SLAB_BULK_COUNT names hNNNN  secure
#                   (h0000 … , A 127.1.(i/256).(i%256), as lab.sh's hNNNN.bulk.example):
#                   DIR/bulk.names one a line, DIR/bulk.dnsperf ("name A") for dnsperf
#  The expected rcode, status and EDE for each name are in DIR/lab.env and DIR/lab.json
#  (SLAB_CASE_<ID>_{NAME,TYPE,RCODE,STATUS,EDE,EDE_ALSO}), as Unbound 1.17 (validator
#  iterator, ede: yes) returns them (EDE_ALSO: codes another validator may give): that
#  is checked by tests/integration/test_signed_lab.py.
#
# Files in DIR: root.hints, root.ds (DS of the root KSK: trust-anchor-file), root.dnskey
# (the root KSK DNSKEY: trust-anchor-file), lab.env + lab.json, keys/, zones/*.zone and
# *.signed, nsd/<instance>/{nsd.conf,nsd.pid,lab.pid,nsd.log}, nonsec/{lab.pid,ready,stderr},
# bulk.names, bulk.dnsperf.
# zone heads are printf formats with literal $TTL / $ORIGIN
# shellcheck disable=SC2016
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROG=signed.sh

NSD_INSTANCES=(root tld auth insec bulk)
declare -A ZONES=(
  [root]="." [tld]="sig."
  [auth]="nsec.sig. nsec3.sig. optout.sig. nsec3iter.sig. ed.sig. expired.sig. wrongkey.sig. badds.sig. norrsig.sig."
  [insec]="insecure.sig. unknownalg.sig. unsigned.optout.sig."
  [nonsec]="nonsec.sig."
  [bulk]="bulk.sig."
)
ALL_INSTANCES=(root tld auth insec nonsec bulk)
declare -A ADDR=()
set_net() {
  [[ $1 =~ ^127\.([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$ ]] ||
    die "LAB_NET must look like 127.N (0 <= N <= 255), not '$1'"
  LAB_NET=$1
  ADDR=([root]=$1.0.1 [tld]=$1.1.1 [auth]=$1.2.1 [nonsec]=$1.3.1 [insec]=$1.4.1 [bulk]=$1.5.1)
}
net_of_dir() {
  local n
  n=$(sed -n "s/^LAB_NET='\(.*\)'$/\1/p" "$1/lab.env" 2>/dev/null)
  echo "${n:-${LAB_NET:-127.63}}"
}
START_TIMEOUT=${LAB_START_TIMEOUT:-20}
BULK_COUNT=${SLAB_BULK_COUNT:-2000}
STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-5}

die() { echo "$PROG: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }
now_us() { echo "${EPOCHREALTIME/./}"; }
zonefile_of() { if [ "$1" = . ]; then echo root; else echo "${1%.}"; fi; }

# ─── process helpers (as in lab.sh) ─────────────────────────────────────────────────────
PS_SNAP=""
ps_snap() { PS_SNAP=$(ps -eo pid=,pgid=,stat=,args=); }
# pids of live (non-zombie) processes in process group $1 whose command line contains $2
group_members() {
  local pid pgid stat args
  while read -r pid pgid stat args; do
    if [ "$pgid" = "$1" ] && [[ $stat != Z* && $args == *"$2"* ]]; then echo "$pid"; fi
  done <<<"$PS_SNAP"
}
# the pid of pid $1 if it is alive and its command line contains $2 (not a group leader)
pid_member() {
  local pid pgid stat args
  while read -r pid pgid stat args; do
    if [ "$pid" = "$1" ] && [[ $stat != Z* && $args == *"$2"* ]]; then echo "$pid"; fi
  done <<<"$PS_SNAP"
}

# ─── keys and signing ───────────────────────────────────────────────────────────────────
SOA_TIMERS="1 3600 900 604800 300"

# keygen DIR ZONE ALG [ksk] → prints the key's base name (DIR/keys/K<zone>+<alg>+<id>)
keygen() {
  local k bits=()
  case $3 in RSASHA256) bits=(-b 2048) ;; esac
  k=$(cd "$1/keys" && ldns-keygen -r /dev/urandom -a "$3" "${bits[@]}" ${4:+-k} "$2") ||
    die "ldns-keygen -a $3 $2 failed"
  echo "$1/keys/$k"
}

# sign DIR ZONE KEYS... [-- ldns-signzone options]: zones/Z.zone → zones/Z.signed
sign() {
  local d=$1 zone=$2 f keys=() opts=()
  shift 2
  while [ $# -gt 0 ] && [ "$1" != -- ]; do keys+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  opts=("$@")
  f=$d/zones/$(zonefile_of "$zone")
  ldns-signzone "${opts[@]}" -o "$zone" -f "$f.signed" "$f.zone" "${keys[@]}" 2>"$f.sign.err" ||
    { cat "$f.sign.err" >&2; die "ldns-signzone $zone failed"; }
}

# the DS (SHA-256) of the KSK whose base name is $1, as one line
ds_of() { ldns-key2ds -n -2 "$1.key" | tr -s '\t' ' '; }

# a zone's common head: $TTL, SOA, NS with glue at ADDR
zone_head() { # ZONE ADDR
  printf '$TTL 3600\n$ORIGIN %s\n@ 3600 IN SOA ns1 hostmaster %s\n@ IN NS ns1\nns1 IN A %s\n' \
    "$1" "$SOA_TIMERS" "$2"
}

gen_zones() {
  local d=$1 z=$1/zones k ksk zsk bad other child
  local -A DS=()

  # --- second level, signed (auth instance) --------------------------------------------
  # chains out of it, each link in its own zone: to a secure, an insecure and a bogus zone,
  # to a name that does not exist, and a DNAME onto the NSEC3 zone
  { zone_head nsec.sig. "${ADDR[auth]}"
    printf 'www IN A 127.0.0.1\nwww IN TXT "nsec"\n*.wild IN A 127.0.0.2\n'
    printf 'tosecure IN CNAME www.nsec3.sig.\ntoinsecure IN CNAME www.insecure.sig.\n'
    printf 'tobogus IN CNAME www.expired.sig.\ntonx IN CNAME nx.nsec3.sig.\n'
    printf 'dn IN DNAME nsec3.sig.\n'
    printf '*.wc IN CNAME www.nsec3.sig.\n*.wcin IN CNAME www\n'; } >"$z/nsec.sig.zone"
  k=$(keygen "$d" nsec.sig. ECDSAP256SHA256 ksk)
  sign "$d" nsec.sig. "$k"
  DS[nsec]=$(ds_of "$k")

  { zone_head nsec3.sig. "${ADDR[auth]}"
    printf 'www IN A 127.0.0.1\n*.wild IN A 127.0.0.2\n'; } >"$z/nsec3.sig.zone"
  k=$(keygen "$d" nsec3.sig. RSASHA256 ksk)
  sign "$d" nsec3.sig. "$k" -- -n -a 1 -t 5 -s c0ffee
  DS[nsec3]=$(ds_of "$k")

  # opt-out: every NSEC3 has the opt-out flag, so a proof that rests on one that covers a
  # name (NXDOMAIN, wildcard) cannot exclude an unsigned delegation: insecure (RFC 5155 9.2)
  { zone_head optout.sig. "${ADDR[auth]}"
    printf 'www IN A 127.0.0.1\n*.wild IN A 127.0.0.2\n'
    printf 'unsigned IN NS ns1.unsigned\nns1.unsigned IN A %s\n' "${ADDR[insec]}"; } >"$z/optout.sig.zone"
  k=$(keygen "$d" optout.sig. RSASHA256 ksk)
  sign "$d" optout.sig. "$k" -- -n -a 1 -t 5 -s c0ffee -p
  DS[optout]=$(ds_of "$k")

  { zone_head nsec3iter.sig. "${ADDR[auth]}"
    printf 'www IN A 127.0.0.1\n*.wild IN A 127.0.0.2\n'; } >"$z/nsec3iter.sig.zone"
  k=$(keygen "$d" nsec3iter.sig. ECDSAP256SHA256 ksk)
  sign "$d" nsec3iter.sig. "$k" -- -n -a 1 -t 200 -s beef
  DS[nsec3iter]=$(ds_of "$k")

  { zone_head ed.sig. "${ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/ed.sig.zone"
  k=$(keygen "$d" ed.sig. ED25519 ksk)
  sign "$d" ed.sig. "$k"
  DS[ed]=$(ds_of "$k")

  # expired: valid from 2020-01-01 to 2020-02-01
  { zone_head expired.sig. "${ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/expired.sig.zone"
  k=$(keygen "$d" expired.sig. ECDSAP256SHA256 ksk)
  sign "$d" expired.sig. "$k" -- -i 20200101 -e 20200201
  DS[expired]=$(ds_of "$k")

  # wrongkey: www's A RRSIG is replaced by one made with a key that is not in the zone
  { zone_head wrongkey.sig. "${ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/wrongkey.sig.zone"
  k=$(keygen "$d" wrongkey.sig. ECDSAP256SHA256 ksk)
  other=$(keygen "$d" wrongkey.sig. ECDSAP256SHA256)
  sign "$d" wrongkey.sig. "$other" -- -d
  mv "$z/wrongkey.sig.signed" "$z/wrongkey.sig.other"
  sign "$d" wrongkey.sig. "$k"
  splice_rrsig "$z/wrongkey.sig.signed" www.wrongkey.sig. A "$z/wrongkey.sig.other"
  DS[wrongkey]=$(ds_of "$k")

  # badds: the zone is signed, but the DS in sig. is that of a key the zone does not have
  { zone_head badds.sig. "${ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/badds.sig.zone"
  k=$(keygen "$d" badds.sig. ECDSAP256SHA256 ksk)
  bad=$(keygen "$d" badds.sig. ECDSAP256SHA256 ksk)
  sign "$d" badds.sig. "$k"
  DS[badds]=$(ds_of "$bad")

  # norrsig: www's A RRSIG is removed
  { zone_head norrsig.sig. "${ADDR[auth]}"
    printf 'www IN A 127.0.0.1\nok IN A 127.0.0.1\n'; } >"$z/norrsig.sig.zone"
  k=$(keygen "$d" norrsig.sig. ECDSAP256SHA256 ksk)
  sign "$d" norrsig.sig. "$k"
  splice_rrsig "$z/norrsig.sig.signed" www.norrsig.sig. A /dev/null
  DS[norrsig]=$(ds_of "$k")

  # nonsec: served by signed_auth.py, which leaves the NSEC records out of NXDOMAIN answers
  { zone_head nonsec.sig. "${ADDR[nonsec]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/nonsec.sig.zone"
  k=$(keygen "$d" nonsec.sig. ECDSAP256SHA256 ksk)
  sign "$d" nonsec.sig. "$k"
  DS[nonsec]=$(ds_of "$k")

  # bulk.sig.: BULK_COUNT names for the signed cache-miss benchmark, NSEC, one CSK of the
  # algorithm most signed zones use today (13); its own NSD instance, as lab.sh's bulk
  local bw=$((BULK_COUNT - 1))
  bw=${#bw}
  [ "$bw" -ge 4 ] || bw=4
  { zone_head bulk.sig. "${ADDR[bulk]}"
    awk -v n="$BULK_COUNT" -v w="$bw" 'BEGIN {
      for (i = 0; i < n; i++)
        printf "h%0*d IN A 127.%d.%d.%d\n", w, i, 1 + int(i / 65536) % 254, int(i / 256) % 256, i % 256
    }'; } >"$z/bulk.sig.zone"
  k=$(keygen "$d" bulk.sig. ECDSAP256SHA256 ksk)
  sign "$d" bulk.sig. "$k"
  DS[bulk]=$(ds_of "$k")
  awk -v n="$BULK_COUNT" -v w="$bw" \
    'BEGIN { for (i = 0; i < n; i++) printf "h%0*d.bulk.sig.\n", w, i }' >"$d/bulk.names"
  sed 's/$/ A/' "$d/bulk.names" >"$d/bulk.dnsperf"

  # --- unsigned zones (insec instance) --------------------------------------------------
  { zone_head insecure.sig. "${ADDR[insec]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/insecure.sig.zone"
  cp "$z/insecure.sig.zone" "$z/insecure.sig.signed"
  { zone_head unsigned.optout.sig. "${ADDR[insec]}"; printf 'www IN A 127.0.0.1\n'; } \
    >"$z/unsigned.optout.sig.zone"
  cp "$z/unsigned.optout.sig.zone" "$z/unsigned.optout.sig.signed"
  # unknownalg: a DNSKEY of algorithm 253 (PRIVATEDNS: the key starts with a domain name in
  # wire format), no signatures (nothing can make them), and its DS in sig.
  { zone_head unknownalg.sig. "${ADDR[insec]}"; printf 'www IN A 127.0.0.1\n'
    printf '@ IN DNSKEY 257 3 253 %s\n' \
      "$(printf '\003lab\000%s' "$(head -c 24 /dev/urandom | base64 -w0)" | base64 -w0)"
  } >"$z/unknownalg.sig.zone"
  cp "$z/unknownalg.sig.zone" "$z/unknownalg.sig.signed"
  grep DNSKEY "$z/unknownalg.sig.zone" | sed 's/^@/unknownalg.sig./' >"$d/keys/unknownalg.key"
  DS[unknownalg]=$(ldns-key2ds -n -2 "$d/keys/unknownalg.key" | tr -s '\t' ' ')

  # --- sig. (tld) -----------------------------------------------------------------------
  {
    printf '$TTL 3600\n$ORIGIN sig.\n@ 3600 IN SOA ns1.nic hostmaster.nic %s\n' "$SOA_TIMERS"
    printf '@ IN NS ns1.nic.sig.\nns1.nic IN A %s\n' "${ADDR[tld]}"
    for child in nsec nsec3 optout nsec3iter ed expired wrongkey badds norrsig; do
      printf '%s IN NS ns1.%s\nns1.%s IN A %s\n' "$child" "$child" "$child" "${ADDR[auth]}"
    done
    printf 'nonsec IN NS ns1.nonsec\nns1.nonsec IN A %s\n' "${ADDR[nonsec]}"
    printf 'bulk IN NS ns1.bulk\nns1.bulk IN A %s\n' "${ADDR[bulk]}"
    for child in insecure unknownalg; do
      printf '%s IN NS ns1.%s\nns1.%s IN A %s\n' "$child" "$child" "$child" "${ADDR[insec]}"
    done
    for child in "${!DS[@]}"; do printf '%s\n' "${DS[$child]}"; done
  } >"$z/sig.zone"
  k=$(keygen "$d" sig. ECDSAP256SHA256 ksk)
  sign "$d" sig. "$k"
  DS[sig]=$(ds_of "$k")

  # --- the root: KSK + ZSK, RSASHA256, like the real one --------------------------------
  {
    printf '$TTL 86400\n. 3600 IN SOA a.root-servers.lab. hostmaster.root-servers.lab. %s\n' "$SOA_TIMERS"
    printf '. 518400 IN NS a.root-servers.lab.\na.root-servers.lab. 172800 IN A %s\n' "${ADDR[root]}"
    printf 'sig. 172800 IN NS ns1.nic.sig.\nns1.nic.sig. 172800 IN A %s\n' "${ADDR[tld]}"
    printf '%s\n' "${DS[sig]}"
  } >"$z/root.zone"
  ksk=$(keygen "$d" . RSASHA256 ksk)
  zsk=$(keygen "$d" . RSASHA256)
  sign "$d" . "$ksk" "$zsk"
  ds_of "$ksk" >"$d/root.ds"
  tr -s '\t' ' ' <"$ksk.key" >"$d/root.dnskey"
  echo >>"$d/root.dnskey"
}

# splice_rrsig FILE OWNER TYPE FROM: replace OWNER's RRSIG over TYPE in FILE by the one in
# FROM (/dev/null: just remove it)
splice_rrsig() {
  local f=$1 owner=$2 type=$3 from=$4
  awk -v o="$owner" -v t="$type" '!($1 == o && $4 == "RRSIG" && $5 == t)' "$f" >"$f.tmp"
  awk -v o="$owner" -v t="$type" '$1 == o && $4 == "RRSIG" && $5 == t' "$from" >>"$f.tmp"
  mv "$f.tmp" "$f"
}

gen_nsd_conf() { # DIR instance
  local d=$1 inst=$2 idir=$1/nsd/$2 zone
  {
    cat <<EOF
# generated by tests/lab/signed.sh — instance $inst
server:
    ip-address: ${ADDR[$inst]}
    port: 53
    do-ip4: yes
    do-ip6: no
    reuseport: no
    server-count: 1
    verbosity: 1
    username: ""
    chroot: ""
    zonesdir: "$d/zones"
    database: ""
    zonefiles-check: yes
    zonefiles-write: 0
    zonelistfile: "$idir/zone.list"
    xfrdfile: "$idir/xfrd.state"
    xfrdir: "$idir"
    pidfile: "$idir/nsd.pid"
    logfile: "$idir/nsd.log"
    cookie-secret-file: "$idir/nsd_cookiesecrets.txt"
    identity: "signed-lab-$inst"
    hide-version: yes
    refuse-any: no
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    rrl-size: 1
remote-control:
    control-enable: no
EOF
    for zone in ${ZONES[$inst]}; do
      printf 'zone:\n    name: "%s"\n    zonefile: "%s.signed"\n' "$zone" "$(zonefile_of "$zone")"
    done
  } >"$idir/nsd.conf"
}

gen_root_hints() {
  cat >"$1/root.hints" <<EOF
; duet signed lab root hints (tests/lab/signed.sh)
.                        3600000      NS    a.root-servers.lab.
a.root-servers.lab.      3600000      A     ${ADDR[root]}
EOF
}

# Expected results: ID NAME TYPE RCODE STATUS EDE ALSO ("-" = none).  EDE is the one Unbound
# 1.17 gives (checked by tests/integration/test_signed_lab.py); ALSO is another code a
# correct validator may give instead: 1 (Unsupported DNSKEY Algorithm, RFC 8914) for the
# unknownalg answer, 27 (Unsupported NSEC3 Iterations Value, RFC 9276 3.2) for proofs with
# too many iterations, 6 (DNSSEC Bogus, the generic code) for any bogus answer.
CASES=(
  "ROOT_SOA         .                         SOA  NOERROR  secure   - -"
  "TLD_SOA          sig.                      SOA  NOERROR  secure   - -"
  "NSEC_WWW         www.nsec.sig.             A    NOERROR  secure   - -"
  "NSEC_WILD        anything.wild.nsec.sig.   A    NOERROR  secure   - -"
  "NSEC_NXDOMAIN    nx.nsec.sig.              A    NXDOMAIN secure   - -"
  "NSEC_NODATA      www.nsec.sig.             AAAA NOERROR  secure   - -"
  "NSEC3_WWW        www.nsec3.sig.            A    NOERROR  secure   - -"
  "NSEC3_WILD       anything.wild.nsec3.sig.  A    NOERROR  secure   - -"
  "NSEC3_NXDOMAIN   nx.nsec3.sig.             A    NXDOMAIN secure   - -"
  "NSEC3_NODATA     www.nsec3.sig.            AAAA NOERROR  secure   - -"
  "OPTOUT_WWW       www.optout.sig.           A    NOERROR  secure   - -"
  "OPTOUT_NODATA    www.optout.sig.           AAAA NOERROR  secure   - -"
  "OPTOUT_WILD      anything.wild.optout.sig. A    NOERROR  insecure - -"
  "OPTOUT_NXDOMAIN  nx.optout.sig.            A    NXDOMAIN insecure - -"
  "OPTOUT_DELEG     www.unsigned.optout.sig.  A    NOERROR  insecure - -"
  "ITER_WWW         www.nsec3iter.sig.        A    NOERROR  secure   - -"
  "ITER_NXDOMAIN    nx.nsec3iter.sig.         A    NXDOMAIN insecure - 27"
  "ITER_WILD        anything.wild.nsec3iter.sig. A NOERROR  insecure - 27"
  "ED25519_WWW      www.ed.sig.               A    NOERROR  secure   - -"
  "INSECURE_WWW     www.insecure.sig.         A    NOERROR  insecure - -"
  "UNKNOWNALG_WWW   www.unknownalg.sig.       A    NOERROR  insecure - 1"
  "EXPIRED_WWW      www.expired.sig.          A    SERVFAIL bogus    7 6"
  "WRONGKEY_WWW     www.wrongkey.sig.         A    SERVFAIL bogus    9 6"
  "BADDS_WWW        www.badds.sig.            A    SERVFAIL bogus    9 6"
  "NORRSIG_WWW      www.norrsig.sig.          A    SERVFAIL bogus    10 6"
  "NORRSIG_OK       ok.norrsig.sig.           A    NOERROR  secure   - -"
  "NONSEC_WWW       www.nonsec.sig.           A    NOERROR  secure   - -"
  "NONSEC_NXDOMAIN  nx.nonsec.sig.            A    SERVFAIL bogus    12 6"
  "CHAIN_SECURE     tosecure.nsec.sig.        A    NOERROR  secure   - -"
  "CHAIN_INSECURE   toinsecure.nsec.sig.      A    NOERROR  insecure - -"
  "CHAIN_BOGUS      tobogus.nsec.sig.         A    SERVFAIL bogus    7 6"
  "CHAIN_NXDOMAIN   tonx.nsec.sig.            A    NXDOMAIN secure   - -"
  "DNAME_SECURE     www.dn.nsec.sig.          A    NOERROR  secure   - -"
  "WILDCNAME_OUT    x.wc.nsec.sig.            A    NOERROR  secure   - -"
  "WILDCNAME_IN     x.wcin.nsec.sig.          A    NOERROR  secure   - -"
)

# DIR/lab.env (NAME='value', for sh) and DIR/lab.json (the same keys, plus "cases": a list of
# {id, name, type, rcode, status, ede, ede_also})
gen_env() {
  local d=$1 inst json="{" cases="" c id name type rcode status ede also ids=""
  v() {
    local line
    case $2 in *[\'\"\\]*) die "lab.env: unquotable value for $1" ;; esac
    printf "%s='%s'\n" "$1" "$2"
    printf -v line '\n  "%s": "%s",' "$1" "$2"
    json+=$line
  }
  {
    echo "# generated by tests/lab/signed.sh — source me (sh) or read lab.json (same keys)"
    v LAB_DIR "$d"
    v LAB_NET "$LAB_NET"
    v LAB_ROOT_HINTS "$d/root.hints"
    v LAB_ROOT_DS "$d/root.ds"                # trust-anchor-file for a validator
    v LAB_ROOT_DNSKEY "$d/root.dnskey"        # the same anchor as the root KSK's DNSKEY
    v LAB_ROOT_NS a.root-servers.lab.
    local all=""
    for inst in "${ALL_INSTANCES[@]}"; do all+="${ADDR[$inst]} "; done
    v LAB_LIVE_ADDRS "${all% }"
    for inst in "${ALL_INSTANCES[@]}"; do v "LAB_${inst^^}_ADDR" "${ADDR[$inst]}"; done
    v SLAB_BULK_COUNT "$BULK_COUNT"
    v SLAB_BULK_NAMES "$d/bulk.names"
    v SLAB_BULK_DNSPERF "$d/bulk.dnsperf"
    echo "# cases: name, type, expected rcode, validation status, EDE (- = none)"
    for c in "${CASES[@]}"; do
      read -r id name type rcode status ede also <<<"$c"
      v "SLAB_CASE_${id}_NAME" "$name"
      v "SLAB_CASE_${id}_TYPE" "$type"
      v "SLAB_CASE_${id}_RCODE" "$rcode"
      v "SLAB_CASE_${id}_STATUS" "$status"
      v "SLAB_CASE_${id}_EDE" "$ede"
      v "SLAB_CASE_${id}_EDE_ALSO" "$also"
      ids+="$id "
      [ "$ede" = - ] && ede=null
      if [ "$also" = - ]; then also="[]"; else also="[$also]"; fi
      cases+=$(printf '\n    {"id": "%s", "name": "%s", "type": "%s", "rcode": "%s", "status": "%s", "ede": %s, "ede_also": %s},' \
        "$id" "$name" "$type" "$rcode" "$status" "$ede" "$also")
    done
    v SLAB_CASES "${ids% }"
  } >"$d/lab.env.tmp"
  printf '%s\n  "cases": [%s\n  ]\n}\n' "$json" "${cases%,}" >"$d/lab.json"
  mv "$d/lab.env.tmp" "$d/lab.env"
}

# ─── start / stop / status ──────────────────────────────────────────────────────────────
instance_pid() { # DIR inst → pid of a live server of that instance, or nothing
  local idir=$1/nsd/$2 pid f marker
  [ "$2" = nonsec ] && idir=$1/nonsec
  marker=$idir/nsd.conf
  [ "$2" = nonsec ] && marker=$1/zones/nonsec.sig.signed
  for f in "$idir/lab.pid" "$idir/nsd.pid"; do
    [ -s "$f" ] || continue
    read -r pid <"$f" || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    if [ "$2" = nonsec ]; then
      [ -n "$(pid_member "$pid" "$marker")" ] && { echo "$pid"; return 0; }
    else
      [ -n "$(group_members "$pid" "$marker")" ] && { echo "$pid"; return 0; }
    fi
  done
  return 0
}

probe_soa() {
  local out
  if command -v drill >/dev/null; then
    out=$(timeout 2 drill -o rd @"$1" "$2" SOA 2>/dev/null) || return 1
    [[ $out == *"rcode: NOERROR"* && $out == *"flags: qr aa "* ]]
  else
    out=$(dig @"$1" +norec +time=1 +tries=1 +noall +comments "$2" SOA 2>/dev/null) || return 1
    [[ $out == *"status: NOERROR"* && $out == *"flags: qr aa;"* ]]
  fi
}

instance_answers() {
  local zone
  for zone in ${ZONES[$2]}; do probe_soa "${ADDR[$2]}" "$zone" || return 1; done
}

show_log() {
  local idir=$1/nsd/$2 f
  [ "$2" = nonsec ] && idir=$1/nonsec
  for f in "$idir/nsd.stderr" "$idir/nsd.log" "$idir/stderr"; do
    [ -s "$f" ] && { echo "----- $f" >&2; tail -n 30 "$f" >&2; }
  done
  return 0
}

cmd_stop() {
  local d=$1 inst pid deadline i m pids=() marks=() kinds=()
  [ -d "$d" ] || return 0
  ps_snap
  for inst in "${ALL_INSTANCES[@]}"; do
    pid=$(instance_pid "$d" "$inst")
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid")
    if [ "$inst" = nonsec ]; then
      marks+=("$d/zones/nonsec.sig.signed"); kinds+=(pid)
    else
      marks+=("$d/nsd/$inst/nsd.conf"); kinds+=(group)
    fi
  done
  deadline=$(($(now_us) + STOP_TIMEOUT * 1000000))
  for i in "${!pids[@]}"; do
    while :; do
      ps_snap
      if [ "${kinds[$i]}" = pid ]; then m=$(pid_member "${pids[$i]}" "${marks[$i]}")
      else m=$(group_members "${pids[$i]}" "${marks[$i]}"); fi
      [ -z "$m" ] && break
      if [ "$(now_us)" -ge "$deadline" ]; then
        # shellcheck disable=SC2086
        echo "$PROG: server ${pids[$i]} did not stop in ${STOP_TIMEOUT}s; KILL" $m >&2
        # shellcheck disable=SC2086
        kill -KILL $m 2>/dev/null || true
        sleep 0.1
        break
      fi
      sleep 0.05
    done
  done
  rm -f "$d"/nsd/*/lab.pid "$d"/nsd/*/nsd.pid "$d/nonsec/lab.pid"
  [ ${#pids[@]} -eq 0 ] || echo "signed lab: stopped ${#pids[@]} server(s) in $d"
}

net_free() {
  local used a
  used=$(ss -Hlnu 'sport = :53' 2>/dev/null | awk '{ print $4 }')
  for a in "${ADDR[@]}" 0.0.0.0 '*'; do
    [[ $'\n'$used$'\n' == *$'\n'"$a:53"$'\n'* ]] && return 1
  done
  return 0
}

# start on the current net; 0 = up, 2 = an address is in use, 1 = failed
start_on_net() {
  local d=$1 inst idir zone deadline pid failed=""
  rm -rf "$d/zones" "$d/nsd" "$d/keys" "$d/nonsec"
  mkdir -p "$d/zones" "$d/keys" "$d/nonsec" "${NSD_INSTANCES[@]/#/$d/nsd/}"
  gen_zones "$d"
  gen_root_hints "$d"
  gen_env "$d"
  for inst in "${NSD_INSTANCES[@]}"; do gen_nsd_conf "$d" "$inst"; done

  local -A launcher=()
  for inst in "${NSD_INSTANCES[@]}"; do
    idir=$d/nsd/$inst
    nsd -c "$idir/nsd.conf" </dev/null >"$idir/nsd.stderr" 2>&1 &
    launcher[$inst]=$!
  done
  # the scripted server: a child of this shell in its own session (setsid), so it outlives
  # us; its pid is recorded at once, and it writes a ready file once its socket is bound
  rm -f "$d/nonsec/ready"
  setsid /usr/bin/python3 "$HERE/signed_auth.py" --addr "${ADDR[nonsec]}" --zone nonsec.sig. \
    --file "$d/zones/nonsec.sig.signed" --ready "$d/nonsec/ready" \
    </dev/null >"$d/nonsec/stderr" 2>&1 &
  echo $! >"$d/nonsec/lab.pid"
  for inst in "${NSD_INSTANCES[@]}"; do
    wait "${launcher[$inst]}" || failed+="$inst "
  done

  deadline=$(($(now_us) + START_TIMEOUT * 1000000))
  for inst in "${NSD_INSTANCES[@]}"; do
    [[ " $failed " == *" $inst "* ]] && continue
    idir=$d/nsd/$inst
    until [ -s "$idir/nsd.pid" ]; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "$PROG: NSD instance $inst wrote no pidfile in ${START_TIMEOUT}s" >&2
        failed+="$inst "
        break
      fi
      sleep 0.01
    done
    [ -s "$idir/nsd.pid" ] && read -r pid <"$idir/nsd.pid" && echo "$pid" >"$idir/lab.pid"
  done
  until [ -e "$d/nonsec/ready" ]; do
    ps_snap
    if [ -z "$(instance_pid "$d" nonsec)" ] || [ "$(now_us)" -ge "$deadline" ]; then
      failed+="nonsec "
      break
    fi
    sleep 0.02
  done
  if [ -n "$failed" ]; then
    cmd_stop "$d" >/dev/null
    if [ -z "${LAB_NET_EXPLICIT:-}" ] &&
      grep -qs 'Address already in use' "$d"/nsd/*/nsd.log "$d/nonsec/stderr"; then
      echo "$PROG: $LAB_NET.0.0/16 is in use (another lab?); trying the next net" >&2
      return 2
    fi
    for inst in $failed; do
      echo "$PROG: server $inst (${ADDR[$inst]}) failed to start:" >&2
      show_log "$d" "$inst"
    done
    return 1
  fi

  for inst in "${ALL_INSTANCES[@]}"; do
    until instance_answers "$d" "$inst"; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "$PROG: server $inst (${ADDR[$inst]}) not answering after ${START_TIMEOUT}s:" >&2
        show_log "$d" "$inst"
        for zone in ${ZONES[$inst]}; do
          nsd-checkzone "$zone" "$d/zones/$(zonefile_of "$zone").signed" >&2 || true
        done
        cmd_stop "$d" >/dev/null
        return 1
      fi
      sleep 0.02
    done
  done
  return 0
}

cmd_start() {
  local d=$1 net nets rc inst t0
  if ! [[ $BULK_COUNT =~ ^[1-9][0-9]{0,5}$ ]] || [ "$BULK_COUNT" -gt 100000 ]; then
    die "SLAB_BULK_COUNT must be 1..100000 (got '$BULK_COUNT')"
  fi
  [ "$(id -u)" -eq 0 ] || skip "must run as root (NSD binds port 53 on 127.63.x.y)"
  command -v nsd >/dev/null || skip "nsd not installed (Debian package nsd)"
  command -v ldns-signzone >/dev/null || skip "ldns-signzone not installed (Debian package ldnsutils)"
  command -v dig >/dev/null || skip "dig not installed (Debian package bind9-dnsutils)"
  /usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
    skip "python3-dnspython not installed (Debian package python3-dnspython)"
  t0=$(now_us)
  cmd_stop "$d" >/dev/null
  if [ -n "${LAB_NET_EXPLICIT:-}" ]; then nets=$LAB_NET; else nets=$(seq -f '127.%g' 63 72); fi
  rc=2
  for net in $nets; do
    set_net "$net"
    if [ -z "${LAB_NET_EXPLICIT:-}" ] && ! net_free; then continue; fi
    rc=0; start_on_net "$d" || rc=$?
    [ "$rc" -eq 2 ] || break
  done
  if [ "$rc" -eq 2 ]; then
    echo "$PROG: every net is in use (${nets//$'\n'/ }): stale labs? see \`ss -lunp 'sport = :53'\`" >&2
  fi
  [ "$rc" -eq 0 ] || exit 1

  echo "signed lab: up in $d on $LAB_NET.0.0/16 ($(( ($(now_us) - t0) / 1000 )) ms)"
  printf '  %-8s %-12s %-7s %s\n' server address pid zones
  for inst in "${ALL_INSTANCES[@]}"; do
    local pf=$d/nsd/$inst/lab.pid
    [ "$inst" = nonsec ] && pf=$d/nonsec/lab.pid
    printf '  %-8s %-12s %-7s %s\n' "$inst" "${ADDR[$inst]}" "$(<"$pf")" "${ZONES[$inst]}"
  done
  echo "  root hints: $d/root.hints   trust anchor: $d/root.ds   env: $d/lab.env"
}

cmd_status() {
  local d=$1 inst pid up=0 down=0 state
  ps_snap
  for inst in "${ALL_INSTANCES[@]}"; do
    pid=$(instance_pid "$d" "$inst")
    if [ -z "$pid" ]; then
      state="stopped"; down=$((down + 1)); pid=-
    elif instance_answers "$d" "$inst"; then
      state="answering"; up=$((up + 1))
    else
      state="RUNNING BUT NOT ANSWERING"; down=$((down + 1))
    fi
    printf '%-8s %-12s %-7s %-26s %s\n' "$inst" "${ADDR[$inst]}" "$pid" "$state" "${ZONES[$inst]}"
  done
  [ $up -eq 0 ] && return 3
  [ $down -eq 0 ] || return 1
}

main() {
  [ $# -eq 2 ] || { echo "usage: $0 start|stop|status DIR" >&2; exit 2; }
  local cmd=$1 d=$2
  case $cmd in
    start) mkdir -p "$d" ;;
    stop|status) [ -d "$d" ] || { [ "$cmd" = stop ] && exit 0; echo "no lab in $d" >&2; exit 3; } ;;
    *) echo "usage: $0 start|stop|status DIR" >&2; exit 2 ;;
  esac
  d=$(cd "$d" && pwd)
  case $d in *[[:space:]\"\']*) die "DIR must not contain spaces or quotes: $d" ;; esac
  [ -n "${LAB_NET:-}" ] && LAB_NET_EXPLICIT=1
  set_net "$(net_of_dir "$d")"
  "cmd_$cmd" "$d"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
