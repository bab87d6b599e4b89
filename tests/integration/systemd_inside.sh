#!/usr/bin/env bash
# The checks test_systemd.sh runs inside its booted container, as the one-shot unit
# duet-test.service (ordered after both duet units), with the duet package installed from
# its .deb. Results go to $RES (bind-mounted from the host): one "ok ..." / "FAIL ..." line
# per check, "score UNIT N.N" per systemd-analyze security, the units' journals, and a
# last line "DONE N passed, N failed". The unit's SuccessAction=/FailureAction= power the
# container off afterwards. Every wait here has a count and a deadline.
set -uo pipefail
RES=${RES:-/duet/results}
SRC=${SRC:-/duet/src}
PKG=${PKG:-/duet/pkg}
T=/run/duet-test
LAB=/run/duet-lab
out=$RES/results.txt
pass=0
fail=0
mkdir -p "$T"
: >"$out"
log() { echo "$*" | tee -a "$out"; }
ok() { log "ok   $*"; pass=$((pass + 1)); }
bad() { log "FAIL $*"; fail=$((fail + 1)); }
check() { # check NAME COMMAND...: ok when COMMAND exits 0
    local name=$1
    shift
    if "$@" >>"$T/check.log" 2>&1; then ok "$name"; else bad "$name"; fi
}
prop() { systemctl show -p "$2" --value "$1"; }
# wait_for SECONDS COMMAND...: polls every 0.2 s until COMMAND succeeds; 1 at the deadline.
wait_for() {
    local n=$(($1 * 5))
    shift
    for ((i = 0; i < n; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    return 1
}
active() { [ "$(systemctl is-active "$1")" = active ]; }
journal_has() { journalctl -q -u "$1" --no-pager -o cat | grep -qE "$2"; }
finish() {
    for u in duet-resolver duet-origin; do
        journalctl -q -u "$u" --no-pager -o short-monotonic >"$RES/journal-$u.txt" 2>&1 || true
    done
    cp "$T/check.log" "$RES/check.log" 2>/dev/null || true
    bash "$SRC/tests/lab/lab.sh" stop "$LAB" >/dev/null 2>&1 || true
    log "DONE $pass passed, $fail failed"
}
trap finish EXIT
log "booted $(uname -n) systemd $(systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p')"

# --- 1. both units active after boot, with the shipped configs --------------------------
for u in duet-resolver duet-origin; do
    if wait_for 30 active "$u"; then ok "$u active after boot"; else
        bad "$u not active after boot: $(systemctl is-active "$u")"
        systemctl status --no-pager "$u" >>"$T/check.log" 2>&1
    fi
    [ "$(systemctl is-enabled "$u")" = enabled ] && ok "$u enabled by the package" ||
        bad "$u is-enabled: $(systemctl is-enabled "$u")"
    st=$(prop "$u" StatusText)
    [ -n "$st" ] && ok "$u STATUS=: $st" || bad "$u sent no STATUS= line"
    pid=$(prop "$u" MainPID)
    [ "${pid:-0}" -gt 1 ] || pid=nonexistent
    user=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ')
    [ "$user" = "$u" ] && ok "$u runs as user $user" || bad "$u runs as '$user'"
    capeff=$(awk '/^CapEff/ {print $2}' "/proc/$pid/status" 2>/dev/null)
    # CAP_NET_BIND_SERVICE is capability 10: 0x400, and nothing else.
    [ "$capeff" = 0000000000000400 ] && ok "$u capabilities: CAP_NET_BIND_SERVICE only" ||
        bad "$u CapEff=$capeff"
    # LimitNOFILE=, unless this machine's own hard limit (PID 1's here) is lower: a sandbox
    # without CAP_SYS_RESOURCE may cap it.
    want=$(prop "$u" LimitNOFILE)
    cap=$(awk '/^Max open files/ {print $5}' /proc/1/limits)
    [ "$cap" != unlimited ] && [ "$want" -gt "$cap" ] && want=$cap
    nofile=$(awk '/^Max open files/ {print $4 ":" $5}' "/proc/$pid/limits" 2>/dev/null)
    [ "$nofile" = "$want:$want" ] && [ "$(prop "$u" LimitNOFILE)" -ge 65536 ] &&
        ok "$u open files limit $nofile (LimitNOFILE=$(prop "$u" LimitNOFILE), PID 1's hard limit $cap)" ||
        bad "$u open files limit '$nofile', expected $want:$want"
    v=$(systemd-analyze verify "$u.service" 2>&1)
    [ -z "$v" ] && ok "systemd-analyze verify $u.service: nothing to report" ||
        bad "systemd-analyze verify $u.service: $v"
    score=$(systemd-analyze security "$u.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    log "score $u ${score:-none}"
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        ok "systemd-analyze security $u.service: $score (<= 2.0)"
    else
        bad "systemd-analyze security $u.service: '${score}'"
    fi
done
for u in duet-resolver duet-origin; do
    sock=$(sed -n 's/^control-socket = //p' "/etc/duet/$u.conf")
    [ -n "$sock" ] || continue
    r=$(duet-control -s "$sock" status 2>&1) && ok "duet-control -s $sock status: $(echo "$r" | head -n 1)" ||
        bad "duet-control -s $sock status: $r"
done
check "/run/duet is root:duet 1770 (tmpfiles.d)" \
    bash -c '[ "$(stat -c %U:%G:%a /run/duet)" = root:duet:1770 ]'
check "dpkg lists both configs as conffiles" \
    bash -c "dpkg-query -W -f='\${Conffiles}' duet | grep -q duet-resolver.conf &&
             dpkg-query -W -f='\${Conffiles}' duet | grep -q duet-origin.conf"
check "default key is root:duet-origin 0640" \
    bash -c '[ "$(stat -c %U:%G:%a /etc/duet/default.key)" = root:duet-origin:640 ]'
# The managed root trust anchor of the shipped config (auto-trust-anchor-file): seeded from
# /usr/share/duet/root.key (tmpfiles.d C line), in a directory the service may rename into.
anchor_seeded() {
    [ "$(stat -c %U:%a /var/lib/duet)" = duet-resolver:750 ] &&
        [ "$(stat -c %U:%a /var/lib/duet/root.key)" = duet-resolver:644 ] &&
        [ "$(grep -c '^\.[[:space:]].*DNSKEY[[:space:]]*257 3 8 ' /var/lib/duet/root.key)" = 2 ] &&
        grep -qx 'auto-trust-anchor-file = /var/lib/duet/root.key' /etc/duet/duet-resolver.conf
}
check "/var/lib/duet/root.key seeded from /usr/share/duet/root.key, duet-resolver's, 0644" \
    anchor_seeded

# --- 2. the origin with the shipped config ---------------------------------------------
body=$(curl -sS --max-time 10 --cacert /etc/duet/default.pem https://localhost/ 2>>"$T/check.log")
[[ "$body" == *"duet-origin works"* ]] && ok "https://localhost/ over verified TLS (default site)" ||
    bad "https://localhost/: '${body:0:200}'"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{redirect_url}' http://localhost/x 2>>"$T/check.log")
[[ "$code" == "301 https://localhost/x" ]] && ok "http://localhost/x redirects: $code" ||
    bad "http redirect: '$code'"
wait_for 5 test -s /var/log/duet/access.log && ok "access log written to /var/log/duet (LogsDirectory)" ||
    bad "no /var/log/duet/access.log"

# --- 3. the resolver: the NSD lab hierarchy, through a runtime drop-in and a test config ---
# The packaged /etc/duet/duet-resolver.conf stays as shipped; the test config is a copy with
# the lab's root hints and query-loopback, and a drop-in points ExecStart at it. It keeps the
# shipped root anchor; the lab's own root is not the one those keys sign, so its TLDs are
# negative trust anchors (domain-insecure).
export LAB_BULK_COUNT=20
if bash "$SRC/tests/lab/lab.sh" start "$LAB" >"$T/lab.log" 2>&1; then
    ok "lab DNS hierarchy started"
else
    bad "lab did not start: $(tail -n 3 "$T/lab.log")"
fi
sed -e "s|^root-hints = .*|root-hints = $LAB/root.hints|" -e 's|^query-loopback = no$|query-loopback = yes|' \
    -e '/^auto-trust-anchor-file = /a domain-insecure = test\ndomain-insecure = example\ndomain-insecure = lab' \
    /etc/duet/duet-resolver.conf >"$T/resolver.conf"
chmod 0644 "$T/resolver.conf"
check "test config derived from the shipped one" \
    bash -c "grep -qx 'root-hints = $LAB/root.hints' $T/resolver.conf &&
             grep -qx 'query-loopback = yes' $T/resolver.conf &&
             grep -qx 'domain-insecure = example' $T/resolver.conf"
mkdir -p /run/systemd/system/duet-resolver.service.d
cat >/run/systemd/system/duet-resolver.service.d/50-lab.conf <<EOF
[Service]
ExecStart=
ExecStart=/usr/sbin/duet-resolver -c $T/resolver.conf
ExecReload=
ExecReload=/usr/sbin/duet-resolver --check -c $T/resolver.conf
ExecReload=/bin/kill -HUP \$MAINPID
EOF
systemctl daemon-reload
check "resolver restarted with the lab config" systemctl restart duet-resolver
printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:1\n' >/etc/resolv.conf
a=$(dig +short +time=5 +tries=1 @127.0.0.1 www.site1.test A 2>&1)
[ "$a" = 127.0.0.1 ] && ok "dig @127.0.0.1 www.site1.test A: $a" || bad "dig www.site1.test: '$a'"
a=$(dig +short +tcp +time=5 +tries=1 @::1 www.corp.example AAAA 2>&1 | tail -n 1)
[ "$a" = ::1 ] && ok "dig +tcp @::1 www.corp.example AAAA (cross-zone CNAME): $a" ||
    bad "dig tcp v6: '$a'"
a=$(getent hosts www.site1.test)
[[ "$a" == *www.site1.test* ]] && ok "getent hosts www.site1.test: $a" || bad "getent hosts: '$a'"
body=$(curl -sS --max-time 10 -k https://www.site1.test/ 2>>"$T/check.log")
[[ "$body" == *"duet-origin works"* ]] && ok "https://www.site1.test/: name from duet-resolver, page from duet-origin" ||
    bad "https://www.site1.test/: '${body:0:200}'"

# --- 3b. socket activation: systemd holds port 53, a restart under load loses nothing ---
systemctl stop duet-resolver
check "duet-resolver.socket started" systemctl start duet-resolver.socket
check "duet-resolver started on the socket unit's sockets" systemctl start duet-resolver
wait_for 10 journal_has duet-resolver "udp_from=systemd tcp_from=systemd" &&
    ok "journal: the resolver adopted systemd's sockets (udp and tcp)" ||
    bad "the resolver did not adopt the sockets"
(for i in $(seq 300); do
    dig +short +tries=1 +time=3 @127.0.0.1 www.site1.test A 2>&1 | tail -n 1
done >"$T/sa.out") &
loop=$!
sleep 1
check "systemctl restart duet-resolver under a query stream" systemctl restart duet-resolver
wait "$loop"
total=$(wc -l <"$T/sa.out")
lost=$(grep -cvx '127.0.0.1' "$T/sa.out" || true)
[ "$total" -eq 300 ] && [ "$lost" -eq 0 ] &&
    ok "socket activation: $total queries across systemctl restart, $lost lost" ||
    bad "socket activation: $lost of $total queries lost across the restart"
systemctl stop duet-resolver.socket duet-resolver
check "resolver back on its own sockets" systemctl start duet-resolver

# --- 4. systemctl reload while a connection stays open ----------------------------------
# One TLS connection (openssl s_client) asks for a page before and after the reload.
mkfifo "$T/in"
openssl s_client -quiet -connect 127.0.0.1:443 -servername localhost <"$T/in" >"$T/conn.out" 2>"$T/conn.err" &
client=$!
exec 7>"$T/in"
printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' >&7
responses() { grep -c '^HTTP/1.1 200' "$T/conn.out" 2>/dev/null || true; }
wait_for 10 bash -c "[ \$(grep -c '^HTTP/1.1 200' $T/conn.out) -ge 1 ]" &&
    ok "open connection: first response" || bad "open connection: no first response"
for u in duet-origin duet-resolver; do
    before=$(prop "$u" MainPID)
    if systemctl reload "$u" >>"$T/check.log" 2>&1; then ok "systemctl reload $u: exit 0"; else
        bad "systemctl reload $u failed"
    fi
    wait_for 10 active "$u"
    [ "$(prop "$u" MainPID)" = "$before" ] && active "$u" && ok "$u kept its process ($before) across reload" ||
        bad "$u after reload: pid $(prop "$u" MainPID) (was $before), $(systemctl is-active "$u")"
    journal_has "$u" "Reloaded" && ok "journal: $u reloaded" || bad "journal: no reload of $u"
    # The daemon's own verdict on the new config. A daemon without live reload yet keeps
    # serving (READY=1 again), which is all this test asks of systemd; noted, not passed.
    if journal_has "$u" "event=reload result=accepted"; then
        ok "journal: $u accepted the reloaded config (event=reload result=accepted)"
    elif journal_has "$u" "event=reload_unsupported"; then
        log "note $u: live reload not implemented in this daemon yet (event=reload_unsupported)"
    else
        bad "journal: $u did not accept the reload: $(journalctl -q -u "$u" -o cat | grep 'event=reload' | tail -n 1)"
    fi
done
printf 'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n' >&7
wait_for 10 bash -c "[ \$(grep -c '^HTTP/1.1 200' $T/conn.out) -ge 2 ]" &&
    ok "the connection opened before the reload still serves after it" ||
    bad "connection after reload: $(responses) responses; $(tail -c 300 "$T/conn.err")"
a=$(dig +short +time=5 +tries=1 @127.0.0.1 www.site1.test A 2>&1)
[ "$a" = 127.0.0.1 ] && ok "resolver answers after reload: $a" || bad "resolver after reload: '$a'"

# --- 5. systemctl stop: exit 0 within the drain deadline, with a connection open ---------
# The daemon's own lines of the run being stopped (its invocation), not systemd's: a clean
# stop is "event=daemon_stopping reason=SIGTERM" ... "event=daemon_exit code=0"
# (common/lifecycle.c), with no error-level line and no handle left open on the way.
inv_log() { journalctl -q "_SYSTEMD_INVOCATION_ID=$1" --no-pager -o cat; }
clean_stop_logged() {
    inv_log "$1" | grep -q 'event=daemon_stopping reason=SIGTERM' &&
        inv_log "$1" | grep -q 'event=daemon_exit code=0'
}
for u in duet-origin duet-resolver; do
    inv=$(prop "$u" InvocationID)
    t0=$(date +%s%N)
    systemctl stop "$u" >>"$T/check.log" 2>&1
    rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    st=$(prop "$u" ExecMainStatus)
    res=$(prop "$u" Result)
    if [ "$rc" -eq 0 ] && [ "$st" = 0 ] && [ "$res" = success ] && [ "$ms" -lt 10000 ]; then
        ok "systemctl stop $u: ${ms} ms, exit status $st, result $res"
    else
        bad "systemctl stop $u: rc $rc, ${ms} ms, exit status '$st', result '$res'"
    fi
    if [ -n "$inv" ] && wait_for 5 clean_stop_logged "$inv"; then
        ok "journal: $u logged its own clean stop (daemon_stopping reason=SIGTERM, daemon_exit code=0)"
    else
        bad "journal: no clean stop logged by $u (invocation '$inv'): $(inv_log "$inv" 2>&1 | tail -n 3)"
    fi
    errs=$(inv_log "$inv" 2>&1 | grep -E '^level=error |event=(worker_handle_left|worker_loop_close|main_loop_close) ')
    [ -z "$errs" ] && ok "journal: no error-level or unclean-shutdown line from $u's run" ||
        bad "journal: $u logged: $(echo "$errs" | head -n 5)"
done
exec 7>&-
wait_for 5 bash -c "! kill -0 $client" || kill "$client" 2>/dev/null
wait "$client" 2>/dev/null

# --- 6. the watchdog restarts a SIGSTOPped daemon -----------------------------------------
for u in duet-resolver duet-origin; do
    mkdir -p "/run/systemd/system/$u.service.d"
    printf '[Service]\nWatchdogSec=2s\nTimeoutAbortSec=5s\n' >"/run/systemd/system/$u.service.d/60-watchdog.conf"
done
systemctl daemon-reload
for u in duet-resolver duet-origin; do
    systemctl start "$u" >>"$T/check.log" 2>&1
    wait_for 10 active "$u" || bad "$u did not start for the watchdog test"
    n0=$(prop "$u" NRestarts)
    pid0=$(prop "$u" MainPID)
    # Alive past 3 watchdog periods without a restart: WATCHDOG=1 keeps coming.
    sleep 6
    if [ "$(prop "$u" NRestarts)" = "$n0" ] && [ "$(prop "$u" MainPID)" = "$pid0" ] && active "$u"; then
        ok "$u pings the watchdog (WatchdogSec=2s, alive 6 s)"
    else
        bad "$u restarted without being stopped: NRestarts $(prop "$u" NRestarts), pid $(prop "$u" MainPID)"
    fi
    if [ "${pid0:-0}" -le 1 ]; then
        bad "$u has no main process to stop"
        continue
    fi
    kill -STOP "$pid0"
    if wait_for 30 bash -c "[ \"\$(systemctl show -p NRestarts --value $u)\" -gt $n0 ] &&
                            [ \"\$(systemctl is-active $u)\" = active ]"; then
        ok "watchdog restarted SIGSTOPped $u: pid $pid0 -> $(prop "$u" MainPID), NRestarts $(prop "$u" NRestarts)"
    else
        bad "watchdog: $u NRestarts $(prop "$u" NRestarts), state $(systemctl is-active "$u")"
        kill -CONT "$pid0" 2>/dev/null
    fi
    journal_has "$u" "[Ww]atchdog timeout" && ok "journal: $u watchdog timeout" ||
        bad "journal: no watchdog timeout for $u"
done
rm -f /run/systemd/system/duet-*.service.d/60-watchdog.conf
systemctl daemon-reload
for u in duet-resolver duet-origin; do
    journal_has "$u" "event=start" && ok "journal: $u's own start line (event=start)" ||
        bad "journal: no event=start from $u"
done

# --- 7. the package again: purge, then install with systemd running ---------------------
for u in duet-resolver duet-origin; do systemctl stop "$u"; done
rm -rf /run/systemd/system/duet-resolver.service.d
systemctl daemon-reload
deb=$(ls "$PKG"/duet_*.deb 2>/dev/null | head -n 1)
export DEBIAN_FRONTEND=noninteractive
if apt-get purge -y duet >>"$T/check.log" 2>&1; then ok "apt-get purge duet"; else bad "apt-get purge duet"; fi
check "purge removed the generated key, the managed trust anchor and the unit files" \
    bash -c '[ ! -e /etc/duet/default.key ] && [ ! -e /var/lib/duet ] &&
             [ ! -e /lib/systemd/system/duet-origin.service ]'
if apt-get install -y --no-install-recommends "$deb" >>"$T/check.log" 2>&1; then
    ok "apt-get install ./$(basename "$deb") on a running system"
else
    bad "apt-get install $deb"
fi
for u in duet-resolver duet-origin; do
    wait_for 20 active "$u" && ok "$u active after apt-get install (postinst started it)" ||
        bad "$u after install: $(systemctl is-active "$u")"
done
body=$(curl -sS --max-time 10 --cacert /etc/duet/default.pem https://localhost/ 2>>"$T/check.log")
[[ "$body" == *"duet-origin works"* ]] && ok "new certificate made by postinst serves" ||
    bad "after reinstall: '${body:0:200}'"
check "/var/lib/duet/root.key seeded again by the reinstall" anchor_seeded
