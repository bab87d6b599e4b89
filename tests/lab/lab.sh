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
# shellcheck source=unbound.sh
. "$LAB_HERE/unbound.sh"

LAB_INSTANCES=(root tld-test tld-example site1 corp noglue half bulk)
declare -A LAB_ZONES=(
  [root]=". lab." [tld-test]="test." [tld-example]="example."
  [site1]="site1.test." [corp]="corp.example." [noglue]="noglue.example."
  [half]="half.example." [bulk]="bulk.example."
)
declare -A LAB_ADDR=()
# set_net 127.N: every address of the lab lives in 127.N.0.0/16
set_net() {
  [[ $1 =~ ^127\.([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$ ]] ||
    die "LAB_NET must look like 127.N (0 <= N <= 255), not '$1'"
  LAB_NET=$1
  A_ROOT=$1.0.1 A_TEST=$1.1.1 A_EXAMPLE=$1.2.1 A_SITE1=$1.10.1 A_CORP=$1.20.1
  A_NOGLUE=$1.21.1 A_HALF=$1.22.1 A_BULK=$1.23.1
  LAB_LAME_DEAD=$1.99.1 LAB_HALF_DEAD=$1.99.2
  LAB_ADDR=([root]=$A_ROOT [tld-test]=$A_TEST [tld-example]=$A_EXAMPLE [site1]=$A_SITE1
    [corp]=$A_CORP [noglue]=$A_NOGLUE [half]=$A_HALF [bulk]=$A_BULK)
}
# the net of an existing lab in DIR (from its lab.env), else the default
net_of_dir() {
  local n
  n=$(sed -n "s/^LAB_NET='\(.*\)'$/\1/p" "$1/lab.env" 2>/dev/null)
  echo "${n:-${LAB_NET:-127.53}}"
}
BULK_COUNT=${LAB_BULK_COUNT:-2000}
[[ $BULK_COUNT =~ ^[1-9][0-9]{0,6}$ ]] || { echo "lab.sh: LAB_BULK_COUNT must be 1..9999999" >&2; exit 2; }
BULK_WIDTH=$((BULK_COUNT - 1)); BULK_WIDTH=${#BULK_WIDTH}   # digits of the last index, >= 4
if [ "$BULK_WIDTH" -lt 4 ]; then BULK_WIDTH=4; fi
START_TIMEOUT=${LAB_START_TIMEOUT:-10}
STOP_TIMEOUT=${LAB_STOP_TIMEOUT:-5}

die() { echo "lab.sh: $*" >&2; exit 1; }
skip() { echo "lab.sh: SKIP: $*" >&2; exit 77; }
now_us() { echo "${EPOCHREALTIME/./}"; }
zonefile_of() { if [ "$1" = . ]; then echo root.zone; else echo "${1%.}.zone"; fi; }

# ─── process helpers ────────────────────────────────────────────────────────────────────
# An exited NSD is re-parented to PID 1 and may stay a zombie for a while (in some
# containers for ~1 s): a zombie holds no sockets, so it counts as stopped.

# PS_SNAP: one `ps` snapshot, taken by ps_snap; group_members reads it (no fork per query)
PS_SNAP=""
ps_snap() { PS_SNAP=$(ps -eo pid=,pgid=,stat=,args=); }
# pids of live (non-zombie) processes in process group $1 whose command line contains $2
group_members() {
  local pid pgid stat args
  while read -r pid pgid stat args; do
    if [ "$pgid" = "$1" ] && [[ $stat != Z* && $args == *"$2"* ]]; then echo "$pid"; fi
  done <<<"$PS_SNAP"
}

# ─── generation ─────────────────────────────────────────────────────────────────────────
# serial refresh retry expire minimum: the minimum (300) is the negative-caching TTL
SOA_TIMERS="1 3600 900 604800 300"

# copy stdin (a here-document) to stdout without forking (this runs on every start)
emit() { local t; IFS= read -r -d '' t || true; printf '%s' "$t"; }

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

gen_nsd_conf() { # DIR instance
  local d=$1 inst=$2 idir=$1/nsd/$2 zone file
  {
    emit <<EOF
# generated by tests/lab/lab.sh — instance $inst
server:
    ip-address: ${LAB_ADDR[$inst]}
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
    identity: "lab-$inst"
    hide-version: yes
    round-robin: no
    refuse-any: no
    # no response rate limiting: benchmarks send thousands of qps from 127.0.0.1; with it
    # off, a 1-bucket table saves the default 1M buckets (~30 MB, ~0.1 s start per instance)
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    rrl-size: 1
remote-control:
    control-enable: no
EOF
    for zone in ${LAB_ZONES[$inst]}; do
      file=${zone%.}.zone; [ "$zone" = . ] && file=root.zone
      printf 'zone:\n    name: "%s"\n    zonefile: "%s"\n' "$zone" "$file"
    done
  } >"$idir/nsd.conf"
}

gen_root_hints() {
  emit >"$1/root.hints" <<EOF
; duet lab root hints (tests/lab/lab.sh) — the lab root on loopback
.                        3600000      NS    a.root-servers.lab.
a.root-servers.lab.      3600000      A     $A_ROOT
EOF
}

# DIR/lab.env (NAME='value', for sh) and DIR/lab.json (the same, for Python)
gen_env() {
  local d=$1 inst json="{"
  v() {
    local line
    case $2 in *[\'\"\\]*) die "lab.env: unquotable value for $1" ;; esac
    printf "%s='%s'\n" "$1" "$2"
    printf -v line '\n  "%s": "%s",' "$1" "$2"
    json+=$line
  }
  {
    echo "# generated by tests/lab/lab.sh — source me (sh) or read lab.json (same keys)"
    v LAB_DIR "$d"
    v LAB_NET "$LAB_NET"                      # every lab address is in LAB_NET.0.0/16
    v LAB_ROOT_HINTS "$d/root.hints"
    v LAB_NAMES "$d/names.txt"
    v LAB_NAMES_DNSPERF "$d/names.dnsperf"
    v LAB_NAMES_COUNT "$BULK_COUNT"
    v LAB_ROOT_NS a.root-servers.lab.
    local all=""
    for inst in "${LAB_INSTANCES[@]}"; do all+="${LAB_ADDR[$inst]} "; done
    v LAB_LIVE_ADDRS "${all% }"
    v LAB_ROOT_ADDR "${LAB_ADDR[root]}"
    v LAB_TEST_ADDR "${LAB_ADDR[tld-test]}"
    v LAB_EXAMPLE_ADDR "${LAB_ADDR[tld-example]}"
    v LAB_SITE1_ADDR "${LAB_ADDR[site1]}"
    v LAB_CORP_ADDR "${LAB_ADDR[corp]}"
    v LAB_NOGLUE_ADDR "${LAB_ADDR[noglue]}"
    v LAB_HALF_ADDR "${LAB_ADDR[half]}"
    v LAB_BULK_ADDR "${LAB_ADDR[bulk]}"
    v LAB_LAME_DEAD_ADDR "$LAB_LAME_DEAD"
    v LAB_HALF_DEAD_ADDR "$LAB_HALF_DEAD"
    v LAB_NEG_TTL 300
    echo "# names and expected answers"
    v LAB_APEX site1.test.
    v LAB_APEX_A 127.0.0.1
    v LAB_WWW www.site1.test.
    v LAB_WWW_A 127.0.0.1
    v LAB_WWW_AAAA ::1
    v LAB_ALIAS alias.site1.test.            # CNAME → LAB_WWW
    v LAB_ALIAS2 alias2.site1.test.          # CNAME → LAB_ALIAS → LAB_WWW
    v LAB_TXT txt.site1.test.
    v LAB_TXT_VALUE "duet lab txt record"        # without the quotes of the TXT rdata
    v LAB_NODATA v4only.site1.test.          # A only: AAAA is NODATA
    v LAB_NODATA_A 127.0.0.4
    v LAB_NXDOMAIN nonexistent.site1.test.
    v LAB_NXDOMAIN_TLD no-such-name.nosuchtld.
    v LAB_WILD anything.wild.site1.test.
    v LAB_WILD_A 127.0.0.2
    v LAB_SHORT short.site1.test.
    v LAB_SHORT_TTL 2
    v LAB_SHORT_A 127.0.0.3
    v LAB_BIG big.site1.test.
    v LAB_BIG_TXT_COUNT 40
    v LAB_BIG_A_COUNT 100
    v LAB_LOOP loop1.site1.test.
    v LAB_DANGLING dangling.site1.test.      # CNAME → NXDOMAIN target
    v LAB_XZONE www.corp.example.            # CNAME www.site1.test.
    v LAB_XZONE_A 127.0.0.1
    v LAB_CHAIN chain.corp.example.          # 3 cross-zone CNAMEs
    v LAB_CHAIN_TARGETS "c1.site1.test. c2.bulk.example. c3.corp.example."
    v LAB_CHAIN_A 127.0.0.7
    v LAB_GLUELESS x.noglue.example.
    v LAB_GLUELESS_A 127.0.0.5
    v LAB_HALF www.half.example.
    v LAB_HALF_A 127.0.0.6
    v LAB_LAME www.lame.example.             # SERVFAIL (dead server)
    v LAB_REFUSED www.refused.example.       # SERVFAIL (REFUSED, not authoritative)
    v LAB_CYCLE www.cyc1.example.            # SERVFAIL (glueless NS cycle)
    v LAB_BULK_FIRST "$(head -n 1 "$d/names.txt")"
    v LAB_BULK_FIRST_A 127.1.0.0
  } >"$d/lab.env.tmp"
  printf '%s\n}\n' "${json%,}" >"$d/lab.json"
  mv "$d/lab.env.tmp" "$d/lab.env"
}

# ─── start / stop / status ──────────────────────────────────────────────────────────────
instance_pid() { # DIR inst → pid (of a live lab NSD for that instance) or nothing
  local idir=$1/nsd/$2 pid f
  for f in "$idir/lab.pid" "$idir/nsd.pid"; do
    [ -s "$f" ] || continue
    read -r pid <"$f" || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    [ -n "$(group_members "$pid" "$idir/nsd.conf")" ] && { echo "$pid"; return 0; }
  done
  return 0
}

# 0 if server $1 answers authoritatively (AA, NOERROR) for the SOA of zone $2.
# drill starts in ~30 ms where dig needs ~90: it is the probe when installed.
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

instance_answers() { # DIR inst → 0 if every zone of the instance answers
  local zone
  for zone in ${LAB_ZONES[$2]}; do probe_soa "${LAB_ADDR[$2]}" "$zone" || return 1; done
}

show_log() { # DIR inst
  local idir=$1/nsd/$2 f
  for f in "$idir/nsd.stderr" "$idir/nsd.log"; do
    [ -s "$f" ] && { echo "----- $f" >&2; tail -n 30 "$f" >&2; }
  done
  return 0
}

cmd_stop() {
  local d=$1 inst idir pid deadline i m pids=() confs=()
  [ -d "$d" ] || return 0
  lab_unbound_stop "$d" || true
  ps_snap
  for inst in "${LAB_INSTANCES[@]}"; do
    idir=$d/nsd/$inst
    [ -d "$idir" ] || continue
    pid=$(instance_pid "$d" "$inst")
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid"); confs+=("$idir/nsd.conf")
    fi
  done
  deadline=$(($(now_us) + STOP_TIMEOUT * 1000000))
  for i in "${!pids[@]}"; do
    while :; do
      ps_snap
      m=$(group_members "${pids[$i]}" "${confs[$i]}")
      [ -z "$m" ] && break
      if [ "$(now_us)" -ge "$deadline" ]; then
        # shellcheck disable=SC2086
        echo "lab.sh: NSD group ${pids[$i]} did not stop in ${STOP_TIMEOUT}s; KILL" $m >&2
        # shellcheck disable=SC2086
        kill -KILL $m 2>/dev/null || true
        sleep 0.1
        break
      fi
      sleep 0.05
    done
  done
  rm -f "$d"/nsd/*/lab.pid "$d"/nsd/*/nsd.pid
  [ ${#pids[@]} -eq 0 ] || echo "lab: stopped ${#pids[@]} NSD instance(s) in $d"
}

# 0 if nothing listens on UDP port 53 of any address of the current net (or a wildcard)
net_free() {
  local used a
  used=$(ss -Hlnu 'sport = :53' 2>/dev/null | awk '{ print $4 }')
  for a in "${LAB_ADDR[@]}" "$LAB_LAME_DEAD" "$LAB_HALF_DEAD" 0.0.0.0 '*'; do
    [[ $'\n'$used$'\n' == *$'\n'"$a:53"$'\n'* ]] && return 1
  done
  return 0
}

# start the lab on the current net; exit status 0 = up, 2 = an address is in use, 1 = failed
start_on_net() {
  local d=$1 inst idir zone deadline pid
  rm -rf "$d/zones" "$d/nsd"
  mkdir -p "$d/zones" "${LAB_INSTANCES[@]/#/$d/nsd/}"
  gen_zones "$d"
  gen_root_hints "$d"
  gen_env "$d"
  for inst in "${LAB_INSTANCES[@]}"; do gen_nsd_conf "$d" "$inst"; done

  # NSD binds its sockets before it forks and the parent exits non-zero on a bind failure
  # (address in use): launch all instances at once, then collect each launcher's status.
  local -A launcher=()
  for inst in "${LAB_INSTANCES[@]}"; do
    idir=$d/nsd/$inst
    nsd -c "$idir/nsd.conf" </dev/null >"$idir/nsd.stderr" 2>&1 &
    launcher[$inst]=$!
  done
  local failed=""
  for inst in "${LAB_INSTANCES[@]}"; do
    wait "${launcher[$inst]}" || failed+="$inst "
  done

  # NSD writes its pidfile from the forked process: record every launched instance's pid
  # (lab.pid, which stop uses even after NSD removed nsd.pid) before anything can fail.
  deadline=$(($(now_us) + START_TIMEOUT * 1000000))
  for inst in "${LAB_INSTANCES[@]}"; do
    [[ " $failed " == *" $inst "* ]] && continue
    idir=$d/nsd/$inst
    until [ -s "$idir/nsd.pid" ]; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "lab.sh: NSD instance $inst wrote no pidfile in ${START_TIMEOUT}s" >&2
        failed+="$inst "
        break
      fi
      sleep 0.01
    done
    [ -s "$idir/nsd.pid" ] && read -r pid <"$idir/nsd.pid" && echo "$pid" >"$idir/lab.pid"
  done
  if [ -n "$failed" ]; then
    cmd_stop "$d" >/dev/null
    if [ -z "${LAB_NET_EXPLICIT:-}" ] && grep -qs 'Address already in use' "$d"/nsd/*/nsd.log; then
      echo "lab.sh: $LAB_NET.0.0/16 is in use (another lab?); trying the next net" >&2
      return 2
    fi
    for inst in $failed; do
      echo "lab.sh: NSD instance $inst (${LAB_ADDR[$inst]}) failed to start:" >&2
      show_log "$d" "$inst"
    done
    if grep -qs 'Address already in use' "$d"/nsd/*/nsd.log; then
      echo "lab.sh: hint: another lab (or DNS server) holds these addresses:" \
        "see \`ss -lunp 'sport = :53'\`, and \`tests/lab/lab.sh stop\` on its DIR" >&2
    fi
    return 1
  fi

  # Wait until each instance answers AA for each of its zones (same overall deadline).
  for inst in "${LAB_INSTANCES[@]}"; do
    until instance_answers "$d" "$inst"; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "lab.sh: NSD instance $inst (${LAB_ADDR[$inst]}) not answering after ${START_TIMEOUT}s:" >&2
        show_log "$d" "$inst"
        for zone in ${LAB_ZONES[$inst]}; do
          nsd-checkzone "$zone" "$d/zones/$(zonefile_of "$zone")" >&2 || true
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
  local d=$1 inst net nets rc=1
  [ "$(id -u)" -eq 0 ] || skip "must run as root (NSD binds port 53 on 127.53.x.y)"
  command -v nsd >/dev/null || skip "nsd not installed (Debian package nsd)"
  command -v dig >/dev/null || skip "dig not installed (Debian package bind9-dnsutils)"
  local t0; t0=$(now_us)
  cmd_stop "$d" >/dev/null     # a previous lab in the same DIR (frees its net)

  # LAB_NET given: that net or nothing.  Otherwise 127.53, or the next free one when another
  # lab (a parallel test run) holds it: tests must take addresses from lab.env, not hardcode.
  if [ -n "${LAB_NET_EXPLICIT:-}" ]; then nets=$LAB_NET; else nets=$(seq -f '127.%g' 53 62); fi
  rc=2
  for net in $nets; do
    set_net "$net"
    if [ -z "${LAB_NET_EXPLICIT:-}" ] && ! net_free; then continue; fi
    rc=0; start_on_net "$d" || rc=$?
    [ "$rc" -eq 2 ] || break
  done
  if [ "$rc" -eq 2 ]; then
    echo "lab.sh: every net is in use (${nets//$'\n'/ }): stale labs? see \`ss -lunp 'sport = :53'\`" >&2
  fi
  [ "$rc" -eq 0 ] || exit 1

  echo "lab: DNS hierarchy up in $d on $LAB_NET.0.0/16 ($(( ($(now_us) - t0) / 1000 )) ms)"
  printf '  %-12s %-12s %-7s %s\n' instance address pid zones
  for inst in "${LAB_INSTANCES[@]}"; do
    printf '  %-12s %-12s %-7s %s\n' "$inst" "${LAB_ADDR[$inst]}" \
      "$(<"$d/nsd/$inst/lab.pid")" "${LAB_ZONES[$inst]}"
  done
  printf '  %-12s %-12s %-7s %s\n' "(dead)" "$LAB_LAME_DEAD" - "lame.example. (nothing listens)"
  printf '  %-12s %-12s %-7s %s\n' "(dead)" "$LAB_HALF_DEAD" - "half.example. ns1 (nothing listens)"
  echo "  root hints: $d/root.hints   env: $d/lab.env   names: $d/names.txt ($BULK_COUNT)"
}

cmd_status() {
  local d=$1 inst pid up=0 down=0 state
  ps_snap
  for inst in "${LAB_INSTANCES[@]}"; do
    pid=$(instance_pid "$d" "$inst")
    if [ -z "$pid" ]; then
      state="stopped"; down=$((down + 1)); pid=-
    elif instance_answers "$d" "$inst"; then
      state="answering"; up=$((up + 1))
    else
      state="RUNNING BUT NOT ANSWERING"; down=$((down + 1))
    fi
    printf '%-12s %-12s %-7s %-26s %s\n' "$inst" "${LAB_ADDR[$inst]}" "$pid" "$state" "${LAB_ZONES[$inst]}"
  done
  if [ -s "$d/unbound/lab.pid" ]; then
    read -r pid <"$d/unbound/lab.pid"
    if [ -n "$(group_members_or_pid "$pid" "$d/unbound/unbound.conf")" ]; then
      printf '%-12s %-14s %-7s %s\n' unbound "$(<"$d/unbound/listen")" "$pid" running
    fi
  fi
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
  # stop/status act on the net recorded in DIR/lab.env
  set_net "$(net_of_dir "$d")"
  "cmd_$cmd" "$d"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then main "$@"; fi
