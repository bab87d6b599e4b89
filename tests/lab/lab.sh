#!/usr/bin/env bash
# tests/lab/lab.sh — a real DNS hierarchy on loopback, served by NSD, for duet-resolver's
# integration tests, benchmarks and demo.
#
#   tests/lab/lab.sh start  DIR   generate zones + configs in DIR, start every NSD instance,
#                                 wait (bounded) until each one answers for each of its zones
#   tests/lab/lab.sh stop   DIR   stop every instance started from DIR (and a lab Unbound
#                                 started by tests/lab/unbound.sh), by PID: TERM, then KILL
#                                 after a deadline; idempotent
#   tests/lab/lab.sh status DIR   show each instance; exit 0 if all answer, 1 if some do not,
#                                 3 if none is running
#
# The machinery (nets, start, stop by PID, status, lab.env) is tests/lab/nsdlab.sh, shared with
# tests/lab/signed.sh; this file holds the zones, the servers table and what lab.env says.
# Must run as root (NSD binds port 53).  Exit status 77 = prerequisite missing (skip).
# Environment: LAB_NET (127.N): put the lab in 127.N.0.0/16, that one or fail.  Unset: 127.53,
#                or when another lab (a parallel test run) already holds it, the next free
#                one of 127.54 … 127.62 — so tests must read addresses from DIR/lab.env;
#              LAB_BULK_COUNT (default 2000) = number of hNNNN.bulk.example names;
#              LAB_START_TIMEOUT / LAB_STOP_TIMEOUT in seconds (default 10 / 5).
#
# Linux routes all of 127.0.0.0/8 to lo ("local 127.0.0.0/8 dev lo" in the local routing
# table), so binding 127.53.x.y works without `ip addr add`.  Only 127.0.0.0/8 is used.
#
# ─── Address / zone plan ────────────────────────────────────────────────────────────────
# Every level is its own NSD process on its own address, port 53, so a server only ever
# answers for its own zones and returns referrals for everything below.  Addresses below
# are for the default LAB_NET=127.53 (another net only changes the "127.53" prefix).
#
#  instance     address       zones served        delegated from   how
#  root         127.53.0.1    .  and  lab.        (root hints)     root NS a.root-servers.lab.
#                                                                  (lab. is served by the root
#                                                                  instance itself, like the
#                                                                  old root-servers.net)
#  tld-test     127.53.1.1    test.               .  glue          NS ns1.nic.test.
#  tld-example  127.53.2.1    example.            .  glue          NS ns1.nic.example.
#  site1        127.53.10.1   site1.test.         test. glue       NS ns1.site1.test.
#  corp         127.53.20.1   corp.example.       example. glue    NS ns1.corp.example.
#  noglue       127.53.21.1   noglue.example.     example. GLUELESS NS ns.site1.test.
#                                                 (address only from the A record of
#                                                  ns.site1.test in the site1.test zone)
#  half         127.53.22.1   half.example.       example. glue    NS ns1.half.example. (DEAD
#                                                                  127.53.99.2) + ns2.half.example.
#                                                                  (alive 127.53.22.1)
#  bulk         127.53.23.1   bulk.example.       example. glue    NS ns1.bulk.example.
#  (nothing)    127.53.99.1   lame.example.       example. glue    NS ns1.lame.example. — dead,
#                                                                  nothing listens: SERVFAIL
#  (site1)      127.53.10.1   refused.example.    example. glue    NS ns1.refused.example. —
#                                                                  alive but not authoritative
#                                                                  (REFUSED): SERVFAIL
#  (nothing)    —             cyc1.example. / cyc2.example.        glueless NS cycle
#                                                                  (ns.cyc2.example <-> ns.cyc1.example):
#                                                                  SERVFAIL
#
# Interesting names (expected values are exported in DIR/lab.env):
#  site1.test, www.site1.test       A 127.0.0.1, AAAA ::1  (the demo origin on 127.0.0.1)
#  alias.site1.test                 CNAME www.site1.test.          (in-zone chain)
#  alias2.site1.test                CNAME alias.site1.test.        (2-step in-zone chain)
#  txt.site1.test                   TXT "duet lab txt record"
#  v4only.site1.test                A 127.0.0.4 only  (AAAA → NODATA)
#  *.wild.site1.test                A 127.0.0.2       (wildcard)
#  short.site1.test                 TTL 2, A 127.0.0.3 (TTL expiry)
#  big.site1.test                   40 TXT (~60 bytes each) + 100 A: > 1232 bytes, TC=1 over UDP
#  loop1/loop2.site1.test           CNAME loop
#  dangling.site1.test              CNAME nonexistent.corp.example. (→ NXDOMAIN)
#  www.corp.example                 CNAME www.site1.test.          (cross-zone)
#  chain.corp.example               CNAME c1.site1.test. → CNAME c2.bulk.example.
#                                   → CNAME c3.corp.example. → A 127.0.0.7   (3 cross-zone steps)
#  x.noglue.example, noglue.example A 127.0.0.5 (glueless)
#  www.half.example                 A 127.0.0.6 (half-lame)
#  www.lame.example / www.refused.example / www.cyc1.example   → SERVFAIL
#  hNNNN.bulk.example (h0000…)       A 127.1.(i/256).(i%256)  — listed in DIR/names.txt
#  negative answers: SOA minimum 300 in every zone (SOA TTL 3600) → negative TTL 300
#
# Files in DIR: root.hints, lab.env + lab.json (same keys), names.txt (one name a line), names.dnsperf ("name A"),
# zones/*.zone, nsd/<instance>/{nsd.conf,nsd.pid,lab.pid,nsd.log,…}, unbound/ (unbound.sh).
set -euo pipefail

LAB_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/nsdlab.sh
. "$LAB_HERE/nsdlab.sh"
# shellcheck source=SCRIPTDIR/unbound.sh
. "$LAB_HERE/unbound.sh"

# what tests/lab/nsdlab.sh needs to know (its header says what each is)
PROG=lab.sh LAB_TITLE=lab LAB_NOUN="NSD instance" LAB_COLW=12
LAB_NET_FIRST=53 LAB_NET_LAST=62
LAB_IDENTITY=lab LAB_ZONE_SUFFIX=.zone
LAB_SERVERS=(root tld-test tld-example site1 corp noglue half bulk)
LAB_NSD=("${LAB_SERVERS[@]}")
declare -A LAB_SCRIPTED=()
LAB_WORK_DIRS=()
declare -A LAB_ZONES=(
  [root]=". lab." [tld-test]="test." [tld-example]="example."
  [site1]="site1.test." [corp]="corp.example." [noglue]="noglue.example."
  [half]="half.example." [bulk]="bulk.example."
)
declare -A LAB_ADDR=()
LAB_DEAD_ADDRS=()
# every address of the lab lives in 127.N.0.0/16 ($1 = 127.N)
hook_set_addrs() {
  A_ROOT=$1.0.1 A_TEST=$1.1.1 A_EXAMPLE=$1.2.1 A_SITE1=$1.10.1 A_CORP=$1.20.1
  A_NOGLUE=$1.21.1 A_HALF=$1.22.1 A_BULK=$1.23.1
  LAB_LAME_DEAD=$1.99.1 LAB_HALF_DEAD=$1.99.2
  LAB_ADDR=([root]=$A_ROOT [tld-test]=$A_TEST [tld-example]=$A_EXAMPLE [site1]=$A_SITE1
    [corp]=$A_CORP [noglue]=$A_NOGLUE [half]=$A_HALF [bulk]=$A_BULK)
  LAB_DEAD_ADDRS=("$LAB_LAME_DEAD" "$LAB_HALF_DEAD")
}
BULK_COUNT=${LAB_BULK_COUNT:-2000}
[[ $BULK_COUNT =~ ^[1-9][0-9]{0,6}$ ]] || { echo "lab.sh: LAB_BULK_COUNT must be 1..9999999" >&2; exit 2; }
BULK_WIDTH=$((BULK_COUNT - 1)); BULK_WIDTH=${#BULK_WIDTH}   # digits of the last index, >= 4
if [ "$BULK_WIDTH" -lt 4 ]; then BULK_WIDTH=4; fi
START_TIMEOUT=${LAB_START_TIMEOUT:-10}
STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-5}

hook_prereqs() {
  need_root
  need_cmd nsd nsd
  need_cmd dig bind9-dnsutils
}

# ─── generation ─────────────────────────────────────────────────────────────────────────
# serial refresh retry expire minimum: the minimum (300) is the negative-caching TTL
SOA_TIMERS="1 3600 900 604800 300"

gen_zones() {
  local z=$1/zones

  emit >"$z/root.zone" <<EOF
\$TTL 86400
. 3600 IN SOA a.root-servers.lab. hostmaster.root-servers.lab. $SOA_TIMERS
.                       518400 IN NS a.root-servers.lab.
; lab. holds the root server names; served by the root instance itself
lab.                    172800 IN NS a.root-servers.lab.
a.root-servers.lab.     172800 IN A  $A_ROOT
test.                   172800 IN NS ns1.nic.test.
ns1.nic.test.           172800 IN A  $A_TEST
example.                172800 IN NS ns1.nic.example.
ns1.nic.example.        172800 IN A  $A_EXAMPLE
EOF

  emit >"$z/lab.zone" <<EOF
\$TTL 86400
lab. 3600 IN SOA a.root-servers.lab. hostmaster.root-servers.lab. $SOA_TIMERS
lab.                    IN NS a.root-servers.lab.
a.root-servers.lab.     IN A  $A_ROOT
EOF

  emit >"$z/test.zone" <<EOF
\$TTL 86400
test. 3600 IN SOA ns1.nic.test. hostmaster.nic.test. $SOA_TIMERS
test.                   IN NS ns1.nic.test.
ns1.nic.test.           IN A  $A_TEST
; glued delegation
site1.test.             IN NS ns1.site1.test.
ns1.site1.test.         IN A  $A_SITE1
EOF

  emit >"$z/example.zone" <<EOF
\$TTL 86400
example. 3600 IN SOA ns1.nic.example. hostmaster.nic.example. $SOA_TIMERS
example.                IN NS ns1.nic.example.
ns1.nic.example.        IN A  $A_EXAMPLE
; glued delegation
corp.example.           IN NS ns1.corp.example.
ns1.corp.example.       IN A  $A_CORP
; GLUELESS: the NS name is in another TLD; no address for it here
noglue.example.         IN NS ns.site1.test.
; lame: nothing listens on $LAB_LAME_DEAD
lame.example.           IN NS ns1.lame.example.
ns1.lame.example.       IN A  $LAB_LAME_DEAD
; half-lame: one dead server, one alive
half.example.           IN NS ns1.half.example.
half.example.           IN NS ns2.half.example.
ns1.half.example.       IN A  $LAB_HALF_DEAD
ns2.half.example.       IN A  $A_HALF
; lame (alive, not authoritative: the site1 instance answers REFUSED)
refused.example.        IN NS ns1.refused.example.
ns1.refused.example.    IN A  $A_SITE1
; glueless cycle: each zone's NS name lives in the other zone
cyc1.example.           IN NS ns.cyc2.example.
cyc2.example.           IN NS ns.cyc1.example.
; bulk names for the cache-miss benchmark
bulk.example.           IN NS ns1.bulk.example.
ns1.bulk.example.       IN A  $A_BULK
EOF

  {
    emit <<EOF
\$TTL 3600
\$ORIGIN site1.test.
site1.test. 3600 IN SOA ns1.site1.test. hostmaster.site1.test. $SOA_TIMERS
@                       IN NS    ns1.site1.test.
ns1                     IN A     $A_SITE1
; NS name of the glueless noglue.example. (served on $A_NOGLUE)
ns                      IN A     $A_NOGLUE
@                       IN A     127.0.0.1
@                       IN AAAA  ::1
www                     IN A     127.0.0.1
www                     IN AAAA  ::1
alias                   IN CNAME www.site1.test.
alias2                  IN CNAME alias.site1.test.
txt                     IN TXT   "duet lab txt record"
v4only                  IN A     127.0.0.4
*.wild                  IN A     127.0.0.2
short                 2 IN A     127.0.0.3
c1                      IN CNAME c2.bulk.example.
loop1                   IN CNAME loop2.site1.test.
loop2                   IN CNAME loop1.site1.test.
dangling                IN CNAME nonexistent.corp.example.
EOF
    # big.site1.test: 40 TXT of 60 bytes + 100 A → ~2.9 kB / ~1.6 kB, both > 1232
    awk 'BEGIN {
      for (i = 1; i <= 40; i++) {
        s = sprintf("big-txt-%02d-", i)
        while (length(s) < 60) s = s "x"
        printf "big                     IN TXT   \"%s\"\n", s
      }
      for (i = 1; i <= 100; i++) printf "big                     IN A     127.0.1.%d\n", i
    }'
  } >"$z/site1.test.zone"

  emit >"$z/corp.example.zone" <<EOF
\$TTL 3600
\$ORIGIN corp.example.
corp.example. 3600 IN SOA ns1.corp.example. hostmaster.corp.example. $SOA_TIMERS
@                       IN NS    ns1.corp.example.
ns1                     IN A     $A_CORP
www                     IN CNAME www.site1.test.
chain                   IN CNAME c1.site1.test.
c3                      IN A     127.0.0.7
EOF

  emit >"$z/noglue.example.zone" <<EOF
\$TTL 3600
\$ORIGIN noglue.example.
noglue.example. 3600 IN SOA ns.site1.test. hostmaster.noglue.example. $SOA_TIMERS
@                       IN NS    ns.site1.test.
@                       IN A     127.0.0.5
x                       IN A     127.0.0.5
EOF

  emit >"$z/half.example.zone" <<EOF
\$TTL 3600
\$ORIGIN half.example.
half.example. 3600 IN SOA ns2.half.example. hostmaster.half.example. $SOA_TIMERS
@                       IN NS    ns1.half.example.
@                       IN NS    ns2.half.example.
ns1                     IN A     $LAB_HALF_DEAD
ns2                     IN A     $A_HALF
www                     IN A     127.0.0.6
EOF

  {
    emit <<EOF
\$TTL 3600
\$ORIGIN bulk.example.
bulk.example. 3600 IN SOA ns1.bulk.example. hostmaster.bulk.example. $SOA_TIMERS
@                       IN NS    ns1.bulk.example.
ns1                     IN A     $A_BULK
c2                      IN CNAME c3.corp.example.
EOF
    # hNNNN: 4 digits (more when LAB_BULK_COUNT > 10000); address 127.1.(i/256).(i%256)…
    awk -v n="$BULK_COUNT" -v w="$BULK_WIDTH" 'BEGIN {
      for (i = 0; i < n; i++)
        printf "h%0*d IN A 127.%d.%d.%d\n", w, i, 1 + int(i / 65536) % 254, int(i / 256) % 256, i % 256
    }'
  } >"$z/bulk.example.zone"

  awk -v n="$BULK_COUNT" -v w="$BULK_WIDTH" \
    'BEGIN { for (i = 0; i < n; i++) printf "h%0*d.bulk.example.\n", w, i }' >"$1/names.txt"
  sed 's/$/ A/' "$1/names.txt" >"$1/names.dnsperf"
}

hook_generate() {
  gen_zones "$1"
  gen_root_hints "$1" "; duet lab root hints (tests/lab/lab.sh) — the lab root on loopback"
}

# lab.env and lab.json: after LAB_DIR, LAB_NET and LAB_ROOT_HINTS
hook_env() {
  local d=$1
  env_var LAB_NAMES "$d/names.txt"
  env_var LAB_NAMES_DNSPERF "$d/names.dnsperf"
  env_var LAB_NAMES_COUNT "$BULK_COUNT"
  env_var LAB_ROOT_NS a.root-servers.lab.
  env_live_addrs
  env_var LAB_ROOT_ADDR "${LAB_ADDR[root]}"
  env_var LAB_TEST_ADDR "${LAB_ADDR[tld-test]}"
  env_var LAB_EXAMPLE_ADDR "${LAB_ADDR[tld-example]}"
  env_var LAB_SITE1_ADDR "${LAB_ADDR[site1]}"
  env_var LAB_CORP_ADDR "${LAB_ADDR[corp]}"
  env_var LAB_NOGLUE_ADDR "${LAB_ADDR[noglue]}"
  env_var LAB_HALF_ADDR "${LAB_ADDR[half]}"
  env_var LAB_BULK_ADDR "${LAB_ADDR[bulk]}"
  env_var LAB_LAME_DEAD_ADDR "$LAB_LAME_DEAD"
  env_var LAB_HALF_DEAD_ADDR "$LAB_HALF_DEAD"
  env_var LAB_NEG_TTL 300
  echo "# names and expected answers"
  env_var LAB_APEX site1.test.
  env_var LAB_APEX_A 127.0.0.1
  env_var LAB_WWW www.site1.test.
  env_var LAB_WWW_A 127.0.0.1
  env_var LAB_WWW_AAAA ::1
  env_var LAB_ALIAS alias.site1.test.            # CNAME → LAB_WWW
  env_var LAB_ALIAS2 alias2.site1.test.          # CNAME → LAB_ALIAS → LAB_WWW
  env_var LAB_TXT txt.site1.test.
  env_var LAB_TXT_VALUE "duet lab txt record"        # without the quotes of the TXT rdata
  env_var LAB_NODATA v4only.site1.test.          # A only: AAAA is NODATA
  env_var LAB_NODATA_A 127.0.0.4
  env_var LAB_NXDOMAIN nonexistent.site1.test.
  env_var LAB_NXDOMAIN_TLD no-such-name.nosuchtld.
  env_var LAB_WILD anything.wild.site1.test.
  env_var LAB_WILD_A 127.0.0.2
  env_var LAB_SHORT short.site1.test.
  env_var LAB_SHORT_TTL 2
  env_var LAB_SHORT_A 127.0.0.3
  env_var LAB_BIG big.site1.test.
  env_var LAB_BIG_TXT_COUNT 40
  env_var LAB_BIG_A_COUNT 100
  env_var LAB_LOOP loop1.site1.test.
  env_var LAB_DANGLING dangling.site1.test.      # CNAME → NXDOMAIN target
  env_var LAB_XZONE www.corp.example.            # CNAME www.site1.test.
  env_var LAB_XZONE_A 127.0.0.1
  env_var LAB_CHAIN chain.corp.example.          # 3 cross-zone CNAMEs
  env_var LAB_CHAIN_TARGETS "c1.site1.test. c2.bulk.example. c3.corp.example."
  env_var LAB_CHAIN_A 127.0.0.7
  env_var LAB_GLUELESS x.noglue.example.
  env_var LAB_GLUELESS_A 127.0.0.5
  env_var LAB_HALF www.half.example.
  env_var LAB_HALF_A 127.0.0.6
  env_var LAB_LAME www.lame.example.             # SERVFAIL (dead server)
  env_var LAB_REFUSED www.refused.example.       # SERVFAIL (REFUSED, not authoritative)
  env_var LAB_CYCLE www.cyc1.example.            # SERVFAIL (glueless NS cycle)
  env_var LAB_BULK_FIRST "$(head -n 1 "$d/names.txt")"
  env_var LAB_BULK_FIRST_A 127.1.0.0
}

# ─── start / stop / status ──────────────────────────────────────────────────────────────
hook_report_up() { # DIR MS
  local d=$1 inst
  echo "lab: DNS hierarchy up in $d on $LAB_NET.0.0/16 ($2 ms)"
  printf '  %-12s %-12s %-7s %s\n' instance address pid zones
  for inst in "${LAB_SERVERS[@]}"; do
    printf '  %-12s %-12s %-7s %s\n' "$inst" "${LAB_ADDR[$inst]}" \
      "$(<"$d/nsd/$inst/lab.pid")" "${LAB_ZONES[$inst]}"
  done
  printf '  %-12s %-12s %-7s %s\n' "(dead)" "$LAB_LAME_DEAD" - "lame.example. (nothing listens)"
  printf '  %-12s %-12s %-7s %s\n' "(dead)" "$LAB_HALF_DEAD" - "half.example. ns1 (nothing listens)"
  echo "  root hints: $d/root.hints   env: $d/lab.env   names: $d/names.txt ($BULK_COUNT)"
}

# stop also stops a lab Unbound (tests/lab/unbound.sh); status shows it
hook_before_stop() { lab_unbound_stop "$1"; }
hook_status_extra() {
  local d=$1 pid
  if [ -s "$d/unbound/lab.pid" ]; then
    read -r pid <"$d/unbound/lab.pid"
    if [ -n "$(group_members_or_pid "$pid" "$d/unbound/unbound.conf")" ]; then
      printf '%-12s %-14s %-7s %s\n' unbound "$(<"$d/unbound/listen")" "$pid" running
    fi
  fi
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
