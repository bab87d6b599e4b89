# shellcheck shell=bash
# tests/lab/nsdlab.sh — sourced by tests/lab/lab.sh and tests/lab/signed.sh: the machinery
# both labs share (a free 127.N net, one NSD instance per server plus scripted servers, a
# bounded wait until each answers, stop by PID, status, lab.env/lab.json, argument checks).
# Functions only: sourcing it defines them and does nothing else.  Each lab script keeps its
# zones, keys, servers table and documentation, sets what this file needs (below), and runs
# `main "$@"` when executed.  tests/lab/roll.sh (one NSD whose zone it re-signs) has its own
# start and stop and takes only the helpers, net_free and gen_nsd_conf from here.
#
# What the lab script defines before it calls main:
#   PROG              its name in messages (lab.sh)
#   LAB_TITLE         what stdout calls it (lab, signed lab)
#   LAB_NOUN          what a server is called in messages (NSD instance, server)
#   LAB_NET_FIRST/_LAST  the nets it may take: 127.FIRST (default) … 127.LAST
#   LAB_IDENTITY      NSD identity prefix (identity: "LAB_IDENTITY-<server>")
#   LAB_ZONE_SUFFIX   what NSD loads for zone Z: zones/<zonefile_of Z><suffix> (.zone)
#   LAB_COLW          width of the server column in `status`
#   LAB_SERVERS       every server, in the order status and the start wait use
#   LAB_NSD           the servers that are NSD instances (DIR/nsd/<server>/, its process
#                     group found by its nsd.conf), in launch order
#   LAB_SCRIPTED      assoc: scripted server → the file, relative to DIR, that is in its
#                     command line (DIR/<server>/{lab.pid,ready,stderr}; one process)
#   LAB_WORK_DIRS     more directories of DIR remade empty on each start (keys)
#   LAB_ZONES         assoc: server → the zones it answers for (status and start probe them)
#   START_TIMEOUT, STOP_TIMEOUT   seconds
#   hook_set_addrs NET     fill LAB_ADDR (assoc: server → address) and LAB_DEAD_ADDRS
#                          (addresses the zones name but nothing listens on) for 127.NET
#   hook_prereqs           skip (77) or die when something the lab needs is missing
#   hook_generate DIR      write zones/ (and root.hints: gen_root_hints)
#   hook_env DIR           the lab's own env_var lines after LAB_DIR, LAB_NET, LAB_ROOT_HINTS
#                          (may set ENV_JSON_TAIL: more lab.json members after the last comma)
#   hook_report_up DIR MS  stdout once the lab is up (took MS ms)
#   hook_start_scripted DIR SERVER   start that scripted server in the background (`&` last:
#                          its $! is recorded); it writes DIR/SERVER/ready once bound
#   hook_before_stop DIR, hook_status_extra DIR   optional: more to stop / to show
#
# Functions:
#   die MSG, skip MSG      print "PROG: MSG" and exit 1, or exit 77 (prerequisite missing)
#   need_root, need_cmd CMD PACKAGE   skip unless root / unless CMD is installed
#   now_us                 wall clock in microseconds, without a fork
#   emit                   copy stdin (a here-document) to stdout without forking
#   zonefile_of ZONE       the zone's file name without suffix (root for ".")
#   set_net 127.N          check the net, set LAB_NET, call hook_set_addrs
#   net_of_dir DIR         the net of the lab recorded in DIR/lab.env, else LAB_NET or the first
#   ps_snap                one `ps` snapshot in PS_SNAP, read by group_members and pid_member
#   group_members PGID TEXT   live pids of group PGID whose command line contains TEXT
#   pid_member PID TEXT    PID if it lives and its command line contains TEXT
#   is_scripted S, server_dir DIR S, server_marker DIR S   where server S lives / what marks it
#   gen_nsd_conf DIR S [control]   DIR/nsd/S/nsd.conf (S's address, S's zones); with
#                          control, nsd-control reaches it on DIR/nsd/S/nsd.ctl (roll.sh)
#   gen_root_hints DIR COMMENT   DIR/root.hints, first line COMMENT, the root at LAB_ADDR[root]
#   env_var NAME VALUE     one lab.env line (NAME='VALUE') and the same lab.json member
#   gen_env DIR            DIR/lab.env and DIR/lab.json (hook_env gives the lab's keys)
#   instance_pid DIR S     pid of server S if it is alive, else nothing
#   probe_soa ADDR ZONE    0 if ADDR answers authoritatively (AA, NOERROR) for ZONE's SOA
#   instance_answers DIR S 0 if S answers for each of its zones
#   show_log DIR S         the tail of S's logs on stderr
#   net_free               0 if no address of the current net (or a wildcard) holds UDP 53
#   start_on_net DIR       generate and start on the current net: 0 up, 2 net in use, 1 failed
#   cmd_start/cmd_stop/cmd_status DIR, main ARGS   the three commands and their dispatch
#
# An exited NSD is re-parented to PID 1 and may stay a zombie for a while (in some containers
# for ~1 s): a zombie holds no sockets, so it counts as stopped.

die() { echo "$PROG: $*" >&2; exit 1; }
skip() { echo "$PROG: SKIP: $*" >&2; exit 77; }
need_root() { [ "$(id -u)" -eq 0 ] || skip "must run as root (NSD binds port 53 on 127.$LAB_NET_FIRST.x.y)"; }
need_cmd() { command -v "$1" >/dev/null || skip "$1 not installed (Debian package $2)"; }
now_us() { echo "${EPOCHREALTIME/./}"; }
emit() { local t; IFS= read -r -d '' t || true; printf '%s' "$t"; }
zonefile_of() { if [ "$1" = . ]; then echo root; else echo "${1%.}"; fi; }

# ─── nets ───────────────────────────────────────────────────────────────────────────────
# set_net 127.N: every address of the lab lives in 127.N.0.0/16
set_net() {
  [[ $1 =~ ^127\.([0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-4][0-9]|25[0-5])$ ]] ||
    die "LAB_NET must look like 127.N (0 <= N <= 255), not '$1'"
  LAB_NET=$1
  hook_set_addrs "$1"
}
net_of_dir() {
  local n
  n=$(sed -n "s/^LAB_NET='\(.*\)'$/\1/p" "$1/lab.env" 2>/dev/null)
  echo "${n:-${LAB_NET:-127.$LAB_NET_FIRST}}"
}

# ─── processes ──────────────────────────────────────────────────────────────────────────
ps_snap() { PS_SNAP=$(ps -eo pid=,pgid=,stat=,args=); }
group_members() {
  local pid pgid stat args
  while read -r pid pgid stat args; do
    if [ "$pgid" = "$1" ] && [[ $stat != Z* && $args == *"$2"* ]]; then echo "$pid"; fi
  done <<<"$PS_SNAP"
}
# a scripted server is no group leader: only its own pid counts
pid_member() {
  local pid pgid stat args
  while read -r pid pgid stat args; do
    if [ "$pid" = "$1" ] && [[ $stat != Z* && $args == *"$2"* ]]; then echo "$pid"; fi
  done <<<"$PS_SNAP"
}

is_scripted() { [[ -v LAB_SCRIPTED[$1] ]]; }
server_dir() { if is_scripted "$2"; then echo "$1/$2"; else echo "$1/nsd/$2"; fi; }
server_marker() {
  if is_scripted "$2"; then echo "$1/${LAB_SCRIPTED[$2]}"; else echo "$1/nsd/$2/nsd.conf"; fi
}

# ─── generation ─────────────────────────────────────────────────────────────────────────
gen_nsd_conf() { # DIR server [control]
  local d=$1 inst=$2 idir=$1/nsd/$2 zone control="    control-enable: no"
  if [ "${3:-}" = control ]; then
    control="    control-enable: yes"$'\n'"    control-interface: \"$idir/nsd.ctl\""
  fi
  {
    emit <<EOF
# generated by tests/lab/$PROG — instance $inst
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
    identity: "$LAB_IDENTITY-$inst"
    hide-version: yes
    round-robin: no
    refuse-any: no
    # no response rate limiting: benchmarks send thousands of qps from 127.0.0.1; with it
    # off, a 1-bucket table saves the default 1M buckets (~30 MB, ~0.1 s start per instance)
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    rrl-size: 1
remote-control:
$control
EOF
    for zone in ${LAB_ZONES[$inst]}; do
      printf 'zone:\n    name: "%s"\n    zonefile: "%s%s"\n' "$zone" "$(zonefile_of "$zone")" \
        "$LAB_ZONE_SUFFIX"
    done
  } >"$idir/nsd.conf"
}

gen_root_hints() { # DIR COMMENT
  emit >"$1/root.hints" <<EOF
$2
.                        3600000      NS    a.root-servers.lab.
a.root-servers.lab.      3600000      A     ${LAB_ADDR[root]}
EOF
}

# DIR/lab.env (NAME='value', for sh) and DIR/lab.json (the same keys, for Python): env_var
# prints the first and gathers the second in ENV_JSON, which gen_env writes out.
env_var() {
  local line
  case $2 in *[\'\"\\]*) die "lab.env: unquotable value for $1" ;; esac
  printf "%s='%s'\n" "$1" "$2"
  printf -v line '\n  "%s": "%s",' "$1" "$2"
  ENV_JSON+=$line
}
# LAB_LIVE_ADDRS: the address of every server, in LAB_SERVERS order
env_live_addrs() {
  local inst all=""
  for inst in "${LAB_SERVERS[@]}"; do all+="${LAB_ADDR[$inst]} "; done
  env_var LAB_LIVE_ADDRS "${all% }"
}
gen_env() {
  local d=$1
  ENV_JSON="{" ENV_JSON_TAIL=""
  {
    echo "# generated by tests/lab/$PROG — source me (sh) or read lab.json (same keys)"
    env_var LAB_DIR "$d"
    env_var LAB_NET "$LAB_NET"                # every lab address is in LAB_NET.0.0/16
    env_var LAB_ROOT_HINTS "$d/root.hints"
    hook_env "$d"
  } >"$d/lab.env.tmp"
  if [ -n "$ENV_JSON_TAIL" ]; then
    printf '%s%s\n}\n' "$ENV_JSON" "$ENV_JSON_TAIL" >"$d/lab.json"
  else
    printf '%s\n}\n' "${ENV_JSON%,}" >"$d/lab.json"
  fi
  mv "$d/lab.env.tmp" "$d/lab.env"
}

# ─── probes ─────────────────────────────────────────────────────────────────────────────
instance_pid() { # DIR server → pid of a live server of that name, or nothing (reads PS_SNAP)
  local idir pid f marker
  idir=$(server_dir "$1" "$2")
  marker=$(server_marker "$1" "$2")
  for f in "$idir/lab.pid" "$idir/nsd.pid"; do
    [ -s "$f" ] || continue
    read -r pid <"$f" || continue
    [[ $pid =~ ^[0-9]+$ ]] || continue
    if is_scripted "$2"; then
      [ -n "$(pid_member "$pid" "$marker")" ] && { echo "$pid"; return 0; }
    else
      [ -n "$(group_members "$pid" "$marker")" ] && { echo "$pid"; return 0; }
    fi
  done
  return 0
}

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

instance_answers() {
  local zone
  for zone in ${LAB_ZONES[$2]}; do probe_soa "${LAB_ADDR[$2]}" "$zone" || return 1; done
}

show_log() {
  local idir f
  idir=$(server_dir "$1" "$2")
  for f in "$idir/nsd.stderr" "$idir/nsd.log" "$idir/stderr"; do
    [ -s "$f" ] && { echo "----- $f" >&2; tail -n 30 "$f" >&2; }
  done
  return 0
}

# ─── start / stop / status ──────────────────────────────────────────────────────────────
cmd_stop() {
  local d=$1 inst pid deadline i m pids=() marks=() names=()
  [ -d "$d" ] || return 0
  if declare -F hook_before_stop >/dev/null; then hook_before_stop "$d" || true; fi
  ps_snap
  for inst in "${LAB_SERVERS[@]}"; do
    pid=$(instance_pid "$d" "$inst")
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    pids+=("$pid"); marks+=("$(server_marker "$d" "$inst")"); names+=("$inst")
  done
  deadline=$(($(now_us) + STOP_TIMEOUT * 1000000))
  for i in "${!pids[@]}"; do
    while :; do
      ps_snap
      if is_scripted "${names[$i]}"; then m=$(pid_member "${pids[$i]}" "${marks[$i]}")
      else m=$(group_members "${pids[$i]}" "${marks[$i]}"); fi
      [ -z "$m" ] && break
      if [ "$(now_us)" -ge "$deadline" ]; then
        # shellcheck disable=SC2086
        echo "$PROG: $LAB_NOUN ${names[$i]} (pid ${pids[$i]}) did not stop in ${STOP_TIMEOUT}s; KILL" $m >&2
        # shellcheck disable=SC2086
        kill -KILL $m 2>/dev/null || true
        sleep 0.1
        break
      fi
      sleep 0.05
    done
  done
  rm -f "$d"/nsd/*/lab.pid "$d"/nsd/*/nsd.pid
  for inst in "${!LAB_SCRIPTED[@]}"; do rm -f "$d/$inst/lab.pid"; done
  [ ${#pids[@]} -eq 0 ] || echo "$LAB_TITLE: stopped ${#pids[@]} $LAB_NOUN(s) in $d"
}

net_free() {
  local used a
  used=$(ss -Hlnu 'sport = :53' 2>/dev/null | awk '{ print $4 }')
  for a in "${LAB_ADDR[@]}" "${LAB_DEAD_ADDRS[@]}" 0.0.0.0 '*'; do
    [[ $'\n'$used$'\n' == *$'\n'"$a:53"$'\n'* ]] && return 1
  done
  return 0
}

start_on_net() {
  local d=$1 inst idir zone deadline pid failed="" logs=() scripted=()
  for inst in "${LAB_SERVERS[@]}"; do
    if is_scripted "$inst"; then scripted+=("$inst"); fi
  done
  rm -rf "$d/zones" "$d/nsd" "${LAB_WORK_DIRS[@]/#/$d/}" "${scripted[@]/#/$d/}"
  mkdir -p "$d/zones" "${LAB_WORK_DIRS[@]/#/$d/}" "${scripted[@]/#/$d/}" "${LAB_NSD[@]/#/$d/nsd/}"
  hook_generate "$d"
  gen_env "$d"
  for inst in "${LAB_NSD[@]}"; do gen_nsd_conf "$d" "$inst"; done

  # NSD binds its sockets before it forks and the parent exits non-zero on a bind failure
  # (address in use): launch all instances at once, then collect each launcher's status.
  local -A launcher=()
  for inst in "${LAB_NSD[@]}"; do
    idir=$d/nsd/$inst
    nsd -c "$idir/nsd.conf" </dev/null >"$idir/nsd.stderr" 2>&1 &
    launcher[$inst]=$!
  done
  # a scripted server is a child of this shell in its own session (setsid), so it outlives
  # us; its pid is recorded at once, and it writes a ready file once its socket is bound
  for inst in "${scripted[@]}"; do
    rm -f "$d/$inst/ready"
    hook_start_scripted "$d" "$inst" </dev/null >"$d/$inst/stderr" 2>&1
    echo $! >"$d/$inst/lab.pid"
  done
  for inst in "${LAB_NSD[@]}"; do
    wait "${launcher[$inst]}" || failed+="$inst "
  done

  # NSD writes its pidfile from the forked process: record every launched instance's pid
  # (lab.pid, which stop uses even after NSD removed nsd.pid) before anything can fail.
  deadline=$(($(now_us) + START_TIMEOUT * 1000000))
  for inst in "${LAB_NSD[@]}"; do
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
  for inst in "${scripted[@]}"; do
    until [ -e "$d/$inst/ready" ]; do
      ps_snap
      if [ -z "$(instance_pid "$d" "$inst")" ] || [ "$(now_us)" -ge "$deadline" ]; then
        failed+="$inst "
        break
      fi
      sleep 0.02
    done
  done
  if [ -n "$failed" ]; then
    cmd_stop "$d" >/dev/null
    logs=("$d"/nsd/*/nsd.log)
    for inst in "${scripted[@]}"; do logs+=("$d/$inst/stderr"); done
    if [ -z "${LAB_NET_EXPLICIT:-}" ] && grep -qs 'Address already in use' "${logs[@]}"; then
      echo "$PROG: $LAB_NET.0.0/16 is in use (another lab?); trying the next net" >&2
      return 2
    fi
    for inst in $failed; do
      echo "$PROG: $LAB_NOUN $inst (${LAB_ADDR[$inst]}) failed to start:" >&2
      show_log "$d" "$inst"
    done
    if grep -qs 'Address already in use' "${logs[@]}"; then
      echo "$PROG: hint: another lab (or DNS server) holds these addresses:" \
        "see \`ss -lunp 'sport = :53'\`, and \`tests/lab/$PROG stop\` on its DIR" >&2
    fi
    return 1
  fi

  # Wait until each server answers AA for each of its zones (same overall deadline).
  for inst in "${LAB_SERVERS[@]}"; do
    until instance_answers "$d" "$inst"; do
      if [ "$(now_us)" -ge "$deadline" ]; then
        echo "$PROG: $LAB_NOUN $inst (${LAB_ADDR[$inst]}) not answering after ${START_TIMEOUT}s:" >&2
        show_log "$d" "$inst"
        for zone in ${LAB_ZONES[$inst]}; do
          nsd-checkzone "$zone" "$d/zones/$(zonefile_of "$zone")$LAB_ZONE_SUFFIX" >&2 || true
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
  local d=$1 net nets rc t0
  hook_prereqs
  t0=$(now_us)
  cmd_stop "$d" >/dev/null     # a previous lab in the same DIR (frees its net)

  # LAB_NET given: that net or nothing.  Otherwise the first, or the next free one when
  # another lab (a parallel test run) holds it: tests take addresses from lab.env.
  if [ -n "${LAB_NET_EXPLICIT:-}" ]; then
    nets=$LAB_NET
  else
    nets=$(seq -f '127.%g' "$LAB_NET_FIRST" "$LAB_NET_LAST")
  fi
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
  hook_report_up "$d" $(( ($(now_us) - t0) / 1000 ))
}

cmd_status() {
  local d=$1 inst pid up=0 down=0 state
  ps_snap
  for inst in "${LAB_SERVERS[@]}"; do
    pid=$(instance_pid "$d" "$inst")
    if [ -z "$pid" ]; then
      state="stopped"; down=$((down + 1)); pid=-
    elif instance_answers "$d" "$inst"; then
      state="answering"; up=$((up + 1))
    else
      state="RUNNING BUT NOT ANSWERING"; down=$((down + 1))
    fi
    printf '%-*s %-12s %-7s %-26s %s\n' "$LAB_COLW" "$inst" "${LAB_ADDR[$inst]}" "$pid" "$state" \
      "${LAB_ZONES[$inst]}"
  done
  if declare -F hook_status_extra >/dev/null; then hook_status_extra "$d"; fi
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
