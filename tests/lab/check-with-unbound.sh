#!/usr/bin/env bash
# Conditions are single-quoted on purpose (expect() evaluates them after each query), and
# q() sets variables that only those strings read:
# shellcheck disable=SC2016,SC2034
# tests/lab/check-with-unbound.sh DIR [PORT]
#
# Proves that the NSD lab started by `tests/lab/lab.sh start DIR` is a correct DNS hierarchy:
#   1. asks each lab server directly (+norec) and checks referrals, glue (and its absence),
#      AA answers, TC on the big RRset, NXDOMAIN/SOA, REFUSED, dead addresses;
#   2. starts a throwaway Unbound (tests/lab/unbound.sh) on 127.0.0.1@PORT (default 5300)
#      with the lab root hints and checks that every case resolves as expected through a
#      real iterative resolver; stops it by PID afterwards.
# Prints "ok"/"FAIL" per check and exits 0 only if every check passed (77: skipped, 2: no lab).
# The q()/expect helpers are meant to be reused for an answer diff against duet-resolver.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/unbound.sh
. "$HERE/unbound.sh"

[ $# -ge 1 ] || { echo "usage: $0 DIR [PORT]" >&2; exit 2; }
DIR=$(cd "$1" 2>/dev/null && pwd) || { echo "no such directory: $1" >&2; exit 2; }
PORT=${2:-5300}
[ "$(id -u)" -eq 0 ] || { echo "SKIP: must run as root"; exit 77; }
for t in dig unbound nsd; do command -v $t >/dev/null || { echo "SKIP: $t not installed"; exit 77; }; done
if [ ! -s "$DIR/lab.env" ] || ! "$HERE/lab.sh" status "$DIR" >/dev/null; then
  echo "the lab is not running in $DIR: run tests/lab/lab.sh start $DIR first" >&2
  exit 2
fi
# shellcheck source=/dev/null
. "$DIR/lab.env"

PASS=0 FAIL=0 FAILED=()
OUT="" QMS=0 STATUS="" FLAGS="" ANSWER="" AUTH="" ADDL="" PROTO=""

# q SERVER[#PORT] DIG-ARGS...: one dig (timeout $QTIME, default 3 s); sets OUT, STATUS, FLAGS, ANSWER, AUTH, ADDL, PROTO
q() {
  local server=$1 port=53; shift
  case $server in *'#'*) port=${server#*#}; server=${server%#*} ;; esac
  local t0=${EPOCHREALTIME/./}
  OUT=$(dig @"$server" -p "$port" +time="${QTIME:-3}" +tries=1 "$@" 2>&1)
  QMS=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
  STATUS=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$OUT" | tail -n 1)
  FLAGS=$(sed -n 's/^;; flags: \([a-z ]*\);.*/\1/p' <<<"$OUT" | tail -n 1)
  PROTO=$(sed -n 's/^;; SERVER: .*(\(UDP\|TCP\))$/\1/p' <<<"$OUT" | tail -n 1)
  ANSWER=$(section ANSWER) AUTH=$(section AUTHORITY) ADDL=$(section ADDITIONAL)
}
section() { awk -v s=";; $1 SECTION:" '$0 == s { on = 1; next } on && /^$/ { on = 0 } on' <<<"$OUT"; }
# records of SECTION-TEXT matching "NAME TYPE DATA" (regex on the whitespace-normalised
# record without TTL/class), e.g. rr "$ANSWER" 'www\.site1\.test\. A 127\.0\.0\.1'
rr() { awk '{ ttl = $2; $2 = ""; $3 = ""; $0 = $0; $1 = $1; print }' <<<"$1" | grep -E "^($2)\$"; }
nrr() { local n; n=$(rr "$1" "$2" | wc -l); echo "$n"; }
ttl_of() { awk -v n="$2" -v t="$3" '$1 == n && $4 == t { print $2; exit }' <<<"$1"; }
flag() { [[ " $FLAGS " == *" $1 "* ]]; }

expect() { # DESCRIPTION CONDITION... (shell conditions, evaluated in order, all must hold)
  local what=$1; shift
  if all "$@"; then
    PASS=$((PASS + 1)); echo "ok   - $what (${QMS} ms)"
  else
    FAIL=$((FAIL + 1)); FAILED+=("$what"); echo "FAIL - $what (${QMS} ms)"
    grep -v -E '^$|^; <<>>|^;; global options|^; \(1 server' <<<"$OUT" | head -n 25 | sed 's/^/     | /' 
  fi
}
all() { local c; for c in "$@"; do eval "$c" || return 1; done; }

# the lab's addresses as regexes (dots escaped), for the conditions below
R_ROOT=${LAB_ROOT_ADDR//./\\.} R_TEST=${LAB_TEST_ADDR//./\\.} R_EXAMPLE=${LAB_EXAMPLE_ADDR//./\\.}
R_SITE1=${LAB_SITE1_ADDR//./\\.} R_CORP=${LAB_CORP_ADDR//./\\.} R_NOGLUE=${LAB_NOGLUE_ADDR//./\\.}
R_HALF=${LAB_HALF_ADDR//./\\.} R_LAME_DEAD=${LAB_LAME_DEAD_ADDR//./\\.}
R_HALF_DEAD=${LAB_HALF_DEAD_ADDR//./\\.} R_BULK_FIRST=${LAB_BULK_FIRST//./\\.}
R_BULK_FIRST_A=${LAB_BULK_FIRST_A//./\\.}
ROOT=$LAB_ROOT_ADDR TLD_TEST=$LAB_TEST_ADDR TLD_EX=$LAB_EXAMPLE_ADDR SITE1=$LAB_SITE1_ADDR

echo "# 1. the lab servers themselves (+norec)"
q "$ROOT" +norec . NS
expect "root priming: . NS a.root-servers.lab. (AA) with glue $LAB_ROOT_ADDR" \
  '[ "$STATUS" = NOERROR ]' 'flag aa' '[ "$(nrr "$ANSWER" "\. NS a\.root-servers\.lab\.")" = 1 ]' \
  '[ "$(nrr "$ADDL" "a\.root-servers\.lab\. A $R_ROOT")" = 1 ]'
q "$ROOT" +norec a.root-servers.lab A
expect "root instance is authoritative for lab.: a.root-servers.lab A $LAB_ROOT_ADDR" \
  'flag aa' '[ "$(nrr "$ANSWER" "a\.root-servers\.lab\. A $R_ROOT")" = 1 ]'
q "$ROOT" +norec www.site1.test A
expect "root refers www.site1.test to test. with glue" \
  '[ "$STATUS" = NOERROR ]' '! flag aa' '[ -z "$ANSWER" ]' \
  '[ "$(nrr "$AUTH" "test\. NS ns1\.nic\.test\.")" = 1 ]' \
  '[ "$(nrr "$ADDL" "ns1\.nic\.test\. A $R_TEST")" = 1 ]'
q "$TLD_TEST" +norec www.site1.test A
expect "test. refers www.site1.test to site1.test. with glue" \
  '[ "$STATUS" = NOERROR ]' '! flag aa' '[ -z "$ANSWER" ]' \
  '[ "$(nrr "$AUTH" "site1\.test\. NS ns1\.site1\.test\.")" = 1 ]' \
  '[ "$(nrr "$ADDL" "ns1\.site1\.test\. A $R_SITE1")" = 1 ]'
q "$SITE1" +norec www.site1.test A
expect "site1.test answers www.site1.test A 127.0.0.1 with AA" \
  '[ "$STATUS" = NOERROR ]' 'flag aa' '[ "$(nrr "$ANSWER" "www\.site1\.test\. A 127\.0\.0\.1")" = 1 ]'
q "$ROOT" +norec www.corp.example A
expect "root refers example. with glue" '! flag aa' \
  '[ "$(nrr "$AUTH" "example\. NS ns1\.nic\.example\.")" = 1 ]' \
  '[ "$(nrr "$ADDL" "ns1\.nic\.example\. A $R_EXAMPLE")" = 1 ]'
q "$TLD_EX" +norec www.corp.example A
expect "example. refers corp.example. with glue" '! flag aa' \
  '[ "$(nrr "$AUTH" "corp\.example\. NS ns1\.corp\.example\.")" = 1 ]' \
  '[ "$(nrr "$ADDL" "ns1\.corp\.example\. A $R_CORP")" = 1 ]'
q "$LAB_CORP_ADDR" +norec www.corp.example A
expect "corp.example answers the cross-zone CNAME www.corp.example -> www.site1.test. (AA)" \
  'flag aa' '[ "$(nrr "$ANSWER" "www\.corp\.example\. CNAME www\.site1\.test\.")" = 1 ]'
q "$TLD_EX" +norec x.noglue.example A
expect "example. refers noglue.example. to ns.site1.test. WITHOUT glue" '! flag aa' \
  '[ "$(nrr "$AUTH" "noglue\.example\. NS ns\.site1\.test\.")" = 1 ]' \
  '[ "$(nrr "$ADDL" ".* A .*")" = 0 ]'
q "$SITE1" +norec ns.site1.test A
expect "site1.test gives the glueless NS address ns.site1.test A $LAB_NOGLUE_ADDR" \
  'flag aa' '[ "$(nrr "$ANSWER" "ns\.site1\.test\. A $R_NOGLUE")" = 1 ]'
q "$LAB_NOGLUE_ADDR" +norec x.noglue.example A
expect "noglue.example ($LAB_NOGLUE_ADDR) answers x.noglue.example A 127.0.0.5 (AA)" \
  'flag aa' '[ "$(nrr "$ANSWER" "x\.noglue\.example\. A 127\.0\.0\.5")" = 1 ]'
q "$TLD_EX" +norec www.half.example A
expect "example. refers half.example. to two NS, glue $LAB_HALF_DEAD_ADDR (dead) + $LAB_HALF_ADDR" \
  '[ "$(nrr "$AUTH" "half\.example\. NS ns[12]\.half\.example\.")" = 2 ]' \
  '[ "$(nrr "$ADDL" "ns1\.half\.example\. A $R_HALF_DEAD|ns2\.half\.example\. A $R_HALF")" = 2 ]'
q "$TLD_EX" +norec www.lame.example A
expect "example. refers lame.example. to ns1.lame.example. glue $LAB_LAME_DEAD_ADDR" \
  '[ "$(nrr "$ADDL" "ns1\.lame\.example\. A $R_LAME_DEAD")" = 1 ]'
q "$LAB_LAME_DEAD_ADDR" +norec www.lame.example A
expect "nothing answers on $LAB_LAME_DEAD_ADDR (lame)" '[ -z "$STATUS" ]'
q "$LAB_HALF_DEAD_ADDR" +norec www.half.example A
expect "nothing answers on $LAB_HALF_DEAD_ADDR (dead half of half.example)" '[ -z "$STATUS" ]'
q "$SITE1" +norec www.refused.example A
expect "refused.example's server ($LAB_SITE1_ADDR) is not authoritative: REFUSED" '[ "$STATUS" = REFUSED ]'
q "$SITE1" +norec nonexistent.site1.test A
expect "NXDOMAIN at site1.test with SOA (negative TTL 300)" '[ "$STATUS" = NXDOMAIN ]' 'flag aa' \
  '[ "$(nrr "$AUTH" "site1\.test\. SOA .* 300")" = 1 ]' '[ "$(ttl_of "$AUTH" site1.test. SOA)" = 300 ]'
q "$SITE1" +norec +ignore big.site1.test TXT
expect "big.site1.test TXT over UDP (EDNS 1232): TC=1" 'flag tc' '[ "$PROTO" = UDP ]'
q "$SITE1" +norec +tcp big.site1.test TXT
expect "big.site1.test TXT over TCP: 40 records" 'flag aa' '! flag tc' \
  '[ "$(nrr "$ANSWER" "big\.site1\.test\. TXT .*")" = 40 ]'
q "$SITE1" +norec +tcp big.site1.test A
expect "big.site1.test A over TCP: 100 records" '[ "$(nrr "$ANSWER" "big\.site1\.test\. A .*")" = 100 ]'
q "$LAB_BULK_ADDR" +norec "$(tail -n 1 "$LAB_NAMES")" A
expect "bulk.example serves the last name of names.txt ($LAB_NAMES_COUNT names)" 'flag aa' \
  '[ "$(nrr "$ANSWER" ".* A 127\..*")" = 1 ]'

echo "# 2. through a throwaway Unbound on 127.0.0.1@$PORT (root hints $LAB_ROOT_HINTS)"
trap 'lab_unbound_stop "$DIR" >/dev/null' EXIT
lab_unbound_start "$DIR" "$PORT" 127.0.0.1 || { echo "FAIL - could not start unbound"; exit 1; }
echo "# unbound pid $LAB_UNBOUND_PID"
U="127.0.0.1#$PORT"

q "$U" www.site1.test A
expect "www.site1.test A 127.0.0.1 (NOERROR, RA, not AA)" '[ "$STATUS" = NOERROR ]' 'flag ra' \
  '! flag aa' '[ "$(nrr "$ANSWER" "www\.site1\.test\. A 127\.0\.0\.1")" = 1 ]'
q "$U" www.site1.test AAAA
expect "www.site1.test AAAA ::1" '[ "$(nrr "$ANSWER" "www\.site1\.test\. AAAA ::1")" = 1 ]'
q "$U" site1.test A
expect "site1.test A 127.0.0.1 (apex)" '[ "$(nrr "$ANSWER" "site1\.test\. A 127\.0\.0\.1")" = 1 ]'
q "$U" alias.site1.test A
expect "alias.site1.test CNAME www.site1.test. + A 127.0.0.1" '[ "$STATUS" = NOERROR ]' \
  '[ "$(nrr "$ANSWER" "alias\.site1\.test\. CNAME www\.site1\.test\.")" = 1 ]' \
  '[ "$(nrr "$ANSWER" "www\.site1\.test\. A 127\.0\.0\.1")" = 1 ]'
q "$U" alias2.site1.test AAAA
expect "alias2 -> alias -> www.site1.test AAAA ::1 (2-step in-zone chain)" \
  '[ "$(nrr "$ANSWER" ".* CNAME .*")" = 2 ]' '[ "$(nrr "$ANSWER" "www\.site1\.test\. AAAA ::1")" = 1 ]'
q "$U" www.corp.example A
expect "www.corp.example: cross-zone CNAME www.site1.test. + A 127.0.0.1" '[ "$STATUS" = NOERROR ]' \
  '[ "$(nrr "$ANSWER" "www\.corp\.example\. CNAME www\.site1\.test\.")" = 1 ]' \
  '[ "$(nrr "$ANSWER" "www\.site1\.test\. A 127\.0\.0\.1")" = 1 ]'
q "$U" "$LAB_CHAIN" A
expect "chain.corp.example: 3 cross-zone CNAMEs (corp -> site1 -> bulk -> corp) + A 127.0.0.7" \
  '[ "$STATUS" = NOERROR ]' \
  '[ "$(nrr "$ANSWER" "chain\.corp\.example\. CNAME c1\.site1\.test\.")" = 1 ]' \
  '[ "$(nrr "$ANSWER" "c1\.site1\.test\. CNAME c2\.bulk\.example\.")" = 1 ]' \
  '[ "$(nrr "$ANSWER" "c2\.bulk\.example\. CNAME c3\.corp\.example\.")" = 1 ]' \
  '[ "$(nrr "$ANSWER" "c3\.corp\.example\. A 127\.0\.0\.7")" = 1 ]'
q "$U" x.noglue.example A
expect "x.noglue.example A 127.0.0.5 (glueless delegation)" '[ "$STATUS" = NOERROR ]' \
  '[ "$(nrr "$ANSWER" "x\.noglue\.example\. A 127\.0\.0\.5")" = 1 ]'
q "$U" www.half.example A
expect "www.half.example A 127.0.0.6 (half-lame: one NS dead)" '[ "$STATUS" = NOERROR ]' \
  '[ "$(nrr "$ANSWER" "www\.half\.example\. A 127\.0\.0\.6")" = 1 ]'
QTIME=10 q "$U" www.lame.example A
expect "www.lame.example: SERVFAIL (only NS dead; unbound needs ~2 s)" '[ "$STATUS" = SERVFAIL ]'
q "$U" www.refused.example A
expect "www.refused.example: SERVFAIL (only NS answers REFUSED)" '[ "$STATUS" = SERVFAIL ]'
q "$U" www.cyc1.example A
expect "www.cyc1.example: SERVFAIL (glueless NS cycle)" '[ "$STATUS" = SERVFAIL ]'
q "$U" nonexistent.site1.test A
expect "nonexistent.site1.test: NXDOMAIN + site1.test SOA, TTL <= 300" '[ "$STATUS" = NXDOMAIN ]' \
  '[ "$(nrr "$AUTH" "site1\.test\. SOA ns1\.site1\.test\. .*")" = 1 ]' \
  '[ "$(ttl_of "$AUTH" site1.test. SOA)" -le 300 ]'
q "$U" "$LAB_NXDOMAIN_TLD" A
expect "$LAB_NXDOMAIN_TLD: NXDOMAIN from the root + root SOA" '[ "$STATUS" = NXDOMAIN ]' \
  '[ "$(nrr "$AUTH" "\. SOA a\.root-servers\.lab\. .*")" = 1 ]'
q "$U" v4only.site1.test AAAA
expect "v4only.site1.test AAAA: NODATA (NOERROR, no answer, SOA)" '[ "$STATUS" = NOERROR ]' \
  '[ -z "$ANSWER" ]' '[ "$(nrr "$AUTH" "site1\.test\. SOA .*")" = 1 ]'
q "$U" v4only.site1.test A
expect "v4only.site1.test A 127.0.0.4" '[ "$(nrr "$ANSWER" "v4only\.site1\.test\. A 127\.0\.0\.4")" = 1 ]'
q "$U" +ignore big.site1.test TXT
expect "big.site1.test TXT over UDP via unbound: TC=1" 'flag tc' '[ "$PROTO" = UDP ]'
q "$U" big.site1.test TXT
expect "big.site1.test TXT: dig retries over TCP, 40 records" '[ "$STATUS" = NOERROR ]' \
  '[ "$PROTO" = TCP ]' '[ "$(nrr "$ANSWER" "big\.site1\.test\. TXT .*")" = 40 ]'
q "$U" big.site1.test A
expect "big.site1.test A: 100 records (TCP)" '[ "$PROTO" = TCP ]' \
  '[ "$(nrr "$ANSWER" "big\.site1\.test\. A 127\.0\.1\.[0-9]+")" = 100 ]'
q "$U" anything.wild.site1.test A
expect "anything.wild.site1.test A 127.0.0.2 (wildcard)" \
  '[ "$(nrr "$ANSWER" "anything\.wild\.site1\.test\. A 127\.0\.0\.2")" = 1 ]'
q "$U" txt.site1.test TXT
expect "txt.site1.test TXT \"duet lab txt record\"" \
  '[ "$(nrr "$ANSWER" "txt\.site1\.test\. TXT \"duet lab txt record\"")" = 1 ]'
q "$U" short.site1.test A
expect "short.site1.test A 127.0.0.3 with TTL <= 2" \
  '[ "$(nrr "$ANSWER" "short\.site1\.test\. A 127\.0\.0\.3")" = 1 ]' \
  '[ "$(ttl_of "$ANSWER" short.site1.test. A)" -le 2 ]'
q "$U" "$LAB_BULK_FIRST" A
expect "$LAB_BULK_FIRST A $LAB_BULK_FIRST_A" \
  '[ "$(nrr "$ANSWER" "$R_BULK_FIRST A $R_BULK_FIRST_A")" = 1 ]'
q "$U" "$(tail -n 1 "$LAB_NAMES")" A
expect "last name of names.txt resolves" '[ "$STATUS" = NOERROR ] && [ "$(nrr "$ANSWER" ".* A .*")" = 1 ]'
q "$U" dangling.site1.test A
expect "dangling.site1.test: CNAME to a name that does not exist -> NXDOMAIN with the CNAME" \
  '[ "$STATUS" = NXDOMAIN ]' \
  '[ "$(nrr "$ANSWER" "dangling\.site1\.test\. CNAME nonexistent\.corp\.example\.")" = 1 ]'
q "$U" loop1.site1.test A
echo "info - loop1.site1.test (CNAME loop): unbound says $STATUS with $(nrr "$ANSWER" ".* CNAME .*") CNAME(s)"

lab_unbound_stop "$DIR"
trap - EXIT
echo "# $PASS passed, $FAIL failed"
for f in "${FAILED[@]}"; do echo "#   failed: $f"; done
[ "$FAIL" -eq 0 ]
