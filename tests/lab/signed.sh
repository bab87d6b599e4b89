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
# The machinery (nets, start, stop by PID, status, lab.env) is tests/lab/nsdlab.sh, shared with
# tests/lab/lab.sh; this file holds the keys, zones, servers table and expected cases.
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
# shellcheck source=SCRIPTDIR/nsdlab.sh
. "$HERE/nsdlab.sh"

# what tests/lab/nsdlab.sh needs to know (its header says what each is)
PROG=signed.sh LAB_TITLE="signed lab" LAB_NOUN=server LAB_COLW=8
LAB_NET_FIRST=63 LAB_NET_LAST=72
LAB_IDENTITY=signed-lab LAB_ZONE_SUFFIX=.signed
LAB_SERVERS=(root tld auth insec nonsec bulk)
LAB_NSD=(root tld auth insec bulk)
declare -A LAB_SCRIPTED=([nonsec]=zones/nonsec.sig.signed)
LAB_WORK_DIRS=(keys)
declare -A LAB_ZONES=(
  [root]="." [tld]="sig."
  [auth]="nsec.sig. nsec3.sig. optout.sig. nsec3iter.sig. ed.sig. expired.sig. wrongkey.sig. badds.sig. norrsig.sig."
  [insec]="insecure.sig. unknownalg.sig. unsigned.optout.sig."
  [nonsec]="nonsec.sig."
  [bulk]="bulk.sig."
)
declare -A LAB_ADDR=()
LAB_DEAD_ADDRS=()
hook_set_addrs() {
  LAB_ADDR=([root]=$1.0.1 [tld]=$1.1.1 [auth]=$1.2.1 [nonsec]=$1.3.1 [insec]=$1.4.1 [bulk]=$1.5.1)
}
START_TIMEOUT=${LAB_START_TIMEOUT:-20}
BULK_COUNT=${SLAB_BULK_COUNT:-2000}
STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-5}

hook_prereqs() {
  if ! [[ $BULK_COUNT =~ ^[1-9][0-9]{0,5}$ ]] || [ "$BULK_COUNT" -gt 100000 ]; then
    die "SLAB_BULK_COUNT must be 1..100000 (got '$BULK_COUNT')"
  fi
  need_root
  need_cmd nsd nsd
  need_cmd ldns-signzone ldnsutils
  need_cmd dig bind9-dnsutils
  /usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
    skip "python3-dnspython not installed (Debian package python3-dnspython)"
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
  { zone_head nsec.sig. "${LAB_ADDR[auth]}"
    printf 'www IN A 127.0.0.1\nwww IN TXT "nsec"\n*.wild IN A 127.0.0.2\n'
    printf 'tosecure IN CNAME www.nsec3.sig.\ntoinsecure IN CNAME www.insecure.sig.\n'
    printf 'tobogus IN CNAME www.expired.sig.\ntonx IN CNAME nx.nsec3.sig.\n'
    printf 'dn IN DNAME nsec3.sig.\n'
    printf '*.wc IN CNAME www.nsec3.sig.\n*.wcin IN CNAME www\n'; } >"$z/nsec.sig.zone"
  k=$(keygen "$d" nsec.sig. ECDSAP256SHA256 ksk)
  sign "$d" nsec.sig. "$k"
  DS[nsec]=$(ds_of "$k")

  { zone_head nsec3.sig. "${LAB_ADDR[auth]}"
    printf 'www IN A 127.0.0.1\n*.wild IN A 127.0.0.2\n'; } >"$z/nsec3.sig.zone"
  k=$(keygen "$d" nsec3.sig. RSASHA256 ksk)
  sign "$d" nsec3.sig. "$k" -- -n -a 1 -t 5 -s c0ffee
  DS[nsec3]=$(ds_of "$k")

  # opt-out: every NSEC3 has the opt-out flag, so a proof that rests on one that covers a
  # name (NXDOMAIN, wildcard) cannot exclude an unsigned delegation: insecure (RFC 5155 9.2)
  { zone_head optout.sig. "${LAB_ADDR[auth]}"
    printf 'www IN A 127.0.0.1\n*.wild IN A 127.0.0.2\n'
    printf 'unsigned IN NS ns1.unsigned\nns1.unsigned IN A %s\n' "${LAB_ADDR[insec]}"; } >"$z/optout.sig.zone"
  k=$(keygen "$d" optout.sig. RSASHA256 ksk)
  sign "$d" optout.sig. "$k" -- -n -a 1 -t 5 -s c0ffee -p
  DS[optout]=$(ds_of "$k")

  { zone_head nsec3iter.sig. "${LAB_ADDR[auth]}"
    printf 'www IN A 127.0.0.1\n*.wild IN A 127.0.0.2\n'; } >"$z/nsec3iter.sig.zone"
  k=$(keygen "$d" nsec3iter.sig. ECDSAP256SHA256 ksk)
  sign "$d" nsec3iter.sig. "$k" -- -n -a 1 -t 200 -s beef
  DS[nsec3iter]=$(ds_of "$k")

  { zone_head ed.sig. "${LAB_ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/ed.sig.zone"
  k=$(keygen "$d" ed.sig. ED25519 ksk)
  sign "$d" ed.sig. "$k"
  DS[ed]=$(ds_of "$k")

  # expired: valid from 2020-01-01 to 2020-02-01
  { zone_head expired.sig. "${LAB_ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/expired.sig.zone"
  k=$(keygen "$d" expired.sig. ECDSAP256SHA256 ksk)
  sign "$d" expired.sig. "$k" -- -i 20200101 -e 20200201
  DS[expired]=$(ds_of "$k")

  # wrongkey: www's A RRSIG is replaced by one made with a key that is not in the zone
  { zone_head wrongkey.sig. "${LAB_ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/wrongkey.sig.zone"
  k=$(keygen "$d" wrongkey.sig. ECDSAP256SHA256 ksk)
  other=$(keygen "$d" wrongkey.sig. ECDSAP256SHA256)
  sign "$d" wrongkey.sig. "$other" -- -d
  mv "$z/wrongkey.sig.signed" "$z/wrongkey.sig.other"
  sign "$d" wrongkey.sig. "$k"
  splice_rrsig "$z/wrongkey.sig.signed" www.wrongkey.sig. A "$z/wrongkey.sig.other"
  DS[wrongkey]=$(ds_of "$k")

  # badds: the zone is signed, but the DS in sig. is that of a key the zone does not have
  { zone_head badds.sig. "${LAB_ADDR[auth]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/badds.sig.zone"
  k=$(keygen "$d" badds.sig. ECDSAP256SHA256 ksk)
  bad=$(keygen "$d" badds.sig. ECDSAP256SHA256 ksk)
  sign "$d" badds.sig. "$k"
  DS[badds]=$(ds_of "$bad")

  # norrsig: www's A RRSIG is removed
  { zone_head norrsig.sig. "${LAB_ADDR[auth]}"
    printf 'www IN A 127.0.0.1\nok IN A 127.0.0.1\n'; } >"$z/norrsig.sig.zone"
  k=$(keygen "$d" norrsig.sig. ECDSAP256SHA256 ksk)
  sign "$d" norrsig.sig. "$k"
  splice_rrsig "$z/norrsig.sig.signed" www.norrsig.sig. A /dev/null
  DS[norrsig]=$(ds_of "$k")

  # nonsec: served by signed_auth.py, which leaves the NSEC records out of NXDOMAIN answers
  { zone_head nonsec.sig. "${LAB_ADDR[nonsec]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/nonsec.sig.zone"
  k=$(keygen "$d" nonsec.sig. ECDSAP256SHA256 ksk)
  sign "$d" nonsec.sig. "$k"
  DS[nonsec]=$(ds_of "$k")

  # bulk.sig.: BULK_COUNT names for the signed cache-miss benchmark, NSEC, one CSK of the
  # algorithm most signed zones use today (13); its own NSD instance, as lab.sh's bulk
  local bw=$((BULK_COUNT - 1))
  bw=${#bw}
  [ "$bw" -ge 4 ] || bw=4
  { zone_head bulk.sig. "${LAB_ADDR[bulk]}"
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
  { zone_head insecure.sig. "${LAB_ADDR[insec]}"; printf 'www IN A 127.0.0.1\n'; } >"$z/insecure.sig.zone"
  cp "$z/insecure.sig.zone" "$z/insecure.sig.signed"
  { zone_head unsigned.optout.sig. "${LAB_ADDR[insec]}"; printf 'www IN A 127.0.0.1\n'; } \
    >"$z/unsigned.optout.sig.zone"
  cp "$z/unsigned.optout.sig.zone" "$z/unsigned.optout.sig.signed"
  # unknownalg: a DNSKEY of algorithm 253 (PRIVATEDNS: the key starts with a domain name in
  # wire format), no signatures (nothing can make them), and its DS in sig.
  { zone_head unknownalg.sig. "${LAB_ADDR[insec]}"; printf 'www IN A 127.0.0.1\n'
    printf '@ IN DNSKEY 257 3 253 %s\n' \
      "$(printf '\003lab\000%s' "$(head -c 24 /dev/urandom | base64 -w0)" | base64 -w0)"
  } >"$z/unknownalg.sig.zone"
  cp "$z/unknownalg.sig.zone" "$z/unknownalg.sig.signed"
  grep DNSKEY "$z/unknownalg.sig.zone" | sed 's/^@/unknownalg.sig./' >"$d/keys/unknownalg.key"
  DS[unknownalg]=$(ldns-key2ds -n -2 "$d/keys/unknownalg.key" | tr -s '\t' ' ')

  # --- sig. (tld) -----------------------------------------------------------------------
  {
    printf '$TTL 3600\n$ORIGIN sig.\n@ 3600 IN SOA ns1.nic hostmaster.nic %s\n' "$SOA_TIMERS"
    printf '@ IN NS ns1.nic.sig.\nns1.nic IN A %s\n' "${LAB_ADDR[tld]}"
    for child in nsec nsec3 optout nsec3iter ed expired wrongkey badds norrsig; do
      printf '%s IN NS ns1.%s\nns1.%s IN A %s\n' "$child" "$child" "$child" "${LAB_ADDR[auth]}"
    done
    printf 'nonsec IN NS ns1.nonsec\nns1.nonsec IN A %s\n' "${LAB_ADDR[nonsec]}"
    printf 'bulk IN NS ns1.bulk\nns1.bulk IN A %s\n' "${LAB_ADDR[bulk]}"
    for child in insecure unknownalg; do
      printf '%s IN NS ns1.%s\nns1.%s IN A %s\n' "$child" "$child" "$child" "${LAB_ADDR[insec]}"
    done
    for child in "${!DS[@]}"; do printf '%s\n' "${DS[$child]}"; done
  } >"$z/sig.zone"
  k=$(keygen "$d" sig. ECDSAP256SHA256 ksk)
  sign "$d" sig. "$k"
  DS[sig]=$(ds_of "$k")

  # --- the root: KSK + ZSK, RSASHA256, like the real one --------------------------------
  {
    printf '$TTL 86400\n. 3600 IN SOA a.root-servers.lab. hostmaster.root-servers.lab. %s\n' "$SOA_TIMERS"
    printf '. 518400 IN NS a.root-servers.lab.\na.root-servers.lab. 172800 IN A %s\n' "${LAB_ADDR[root]}"
    printf 'sig. 172800 IN NS ns1.nic.sig.\nns1.nic.sig. 172800 IN A %s\n' "${LAB_ADDR[tld]}"
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

hook_generate() {
  gen_zones "$1"
  gen_root_hints "$1" "; duet signed lab root hints (tests/lab/signed.sh)"
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

# lab.env and lab.json: after LAB_DIR, LAB_NET and LAB_ROOT_HINTS; lab.json also has
# "cases": a list of {id, name, type, rcode, status, ede, ede_also}
hook_env() {
  local d=$1 inst cases="" c id name type rcode status ede also ids=""
  env_var LAB_ROOT_DS "$d/root.ds"                # trust-anchor-file for a validator
  env_var LAB_ROOT_DNSKEY "$d/root.dnskey"        # the same anchor as the root KSK's DNSKEY
  env_var LAB_ROOT_NS a.root-servers.lab.
  env_live_addrs
  for inst in "${LAB_SERVERS[@]}"; do env_var "LAB_${inst^^}_ADDR" "${LAB_ADDR[$inst]}"; done
  env_var SLAB_BULK_COUNT "$BULK_COUNT"
  env_var SLAB_BULK_NAMES "$d/bulk.names"
  env_var SLAB_BULK_DNSPERF "$d/bulk.dnsperf"
  echo "# cases: name, type, expected rcode, validation status, EDE (- = none)"
  for c in "${CASES[@]}"; do
    read -r id name type rcode status ede also <<<"$c"
    env_var "SLAB_CASE_${id}_NAME" "$name"
    env_var "SLAB_CASE_${id}_TYPE" "$type"
    env_var "SLAB_CASE_${id}_RCODE" "$rcode"
    env_var "SLAB_CASE_${id}_STATUS" "$status"
    env_var "SLAB_CASE_${id}_EDE" "$ede"
    env_var "SLAB_CASE_${id}_EDE_ALSO" "$also"
    ids+="$id "
    [ "$ede" = - ] && ede=null
    if [ "$also" = - ]; then also="[]"; else also="[$also]"; fi
    cases+=$(printf '\n    {"id": "%s", "name": "%s", "type": "%s", "rcode": "%s", "status": "%s", "ede": %s, "ede_also": %s},' \
      "$id" "$name" "$type" "$rcode" "$status" "$ede" "$also")
  done
  env_var SLAB_CASES "${ids% }"
  ENV_JSON_TAIL=$(printf '\n  "cases": [%s\n  ]' "${cases%,}")
}

# ─── start / stop / status ──────────────────────────────────────────────────────────────
# nonsec: tests/lab/signed_auth.py, which leaves the NSEC records out of NXDOMAIN answers
hook_start_scripted() { # DIR SERVER
  setsid /usr/bin/python3 "$HERE/signed_auth.py" --addr "${LAB_ADDR[$2]}" --zone "${LAB_ZONES[$2]}" \
    --file "$1/zones/$(zonefile_of "${LAB_ZONES[$2]}").signed" --ready "$1/$2/ready" &
}

hook_report_up() { # DIR MS
  local d=$1 inst
  echo "signed lab: up in $d on $LAB_NET.0.0/16 ($2 ms)"
  printf '  %-8s %-12s %-7s %s\n' server address pid zones
  for inst in "${LAB_SERVERS[@]}"; do
    printf '  %-8s %-12s %-7s %s\n' "$inst" "${LAB_ADDR[$inst]}" \
      "$(<"$(server_dir "$d" "$inst")/lab.pid")" "${LAB_ZONES[$inst]}"
  done
  echo "  root hints: $d/root.hints   trust anchor: $d/root.ds   env: $d/lab.env"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
