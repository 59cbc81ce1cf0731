# restore.sh: runs ON the bot's machine (POSIX sh: dash, bash or BusyBox ash) for scripts/restore.mts. The bundle
# itself arrives in a call of its own (stdin stored into STAGING/bundle.tar); this program checks and applies it.
# Nothing that exists is ever overwritten: each file is linked into place (`ln` fails when the name is taken),
# and a failure removes what this run created, so the bot is left as it was.
#
# Invoked as:  sh -s -- MODE STATE_DIR AGENT [ARG]...     (this file on stdin; never through a PTY)
#   probe                                what restore must know before anything is written
#   prefix   NAME:SIZE...                sha256 of the first SIZE bytes of each named session file
#   apply    STAGING BUNDLE_SHA INDEX_SHA WORKSPACE
#                                        file era: check, link every file into sessions/ (and the workspace), the
#                                        index last (INDEX_SHA: the bot's sessions.json as planned, "-" when it
#                                        had none, "skip" when the bundle has no index); WORKSPACE "-" when none
#   import   STAGING BUNDLE_SHA WORKSPACE OPENCLAW...
#                                        SQLite era: check, place the files, run OPENCLAW doctor --fix as the
#                                        owner of the sessions folder, leave no legacy file behind; then the
#                                        workspace files
#   maintenance-warn                     set session.maintenance.mode to "warn" in openclaw.json
#   cleanup  STAGING                     remove a staging folder (a receive that failed)
# The bundle (a tar) holds MANIFEST and the files under sequence numbers; MANIFEST has one line per file:
#   <sha256> <mode> <where> <seq> <hexname> [<hexname2> <sha256-2>]
# where `s` = into sessions/, `w` = into the workspace, `d` = into the workspace in place of the bot's own copy,
# which moves to <hexname2> (and must still have <sha256-2>). Names are hex bytes: any name travels exactly.
# Output (stdout, one record per line, tab-separated), ending with `end 0`; a failure is one line
# `ocsync-error: SENTENCE` on stderr and a non-zero exit. Signals (a dropped connection, Ctrl-C) before the
# index is in place undo what this run placed; after that the run finishes.
set -u
LC_ALL=C
export LC_ALL
umask 077

mode=${1:?mode}
state=${2:?state dir}
agent=${3:?agent}
shift 3
sessions="$state/agents/$agent/sessions"
tab=$(printf '\t')

fail() {
  printf 'ocsync-error: %s\n' "$*" >&2
  exit 3
}
have() { command -v "$1" >/dev/null 2>&1; }
out() {
  line=""
  for field do
    field=$(printf '%s' "$field" | tr '\t\r\n' '   ')
    if [ -z "$line" ]; then line=$field; else line="$line$tab$field"; fi
  done
  printf '%s\n' "$line"
}
sha() {
  sum=$(sha256sum <"$1") || return 1
  printf '%s' "${sum%% *}"
}

hexname() {
  printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'
}

# unhex HEX: the bytes HEX spells, into $f (a trailing newline survives: the x is cut after)
unhex() {
  h=$1
  esc=
  while [ -n "$h" ]; do
    t=${h#??}
    esc="$esc\\0$(printf '%03o' "0x${h%"$t"}")"
    h=$t
  done
  f=$(printf "%b"x "$esc")
  f=${f%x}
}

# The staging folder must be ours: directly inside the state dir, named by restore.
check_staging() {
  case $1 in "$state"/.ocsync-restore-[0-9a-f]*) ;; *) fail "refusing staging folder $1" ;; esac
  case ${1#"$state"/} in */*) fail "refusing staging folder $1" ;; esac
}

# The user the gateway runs as: the owner of the sessions folder, else of the nearest folder above it.
owner_of() {
  for d in "$sessions" "$state/agents/$agent" "$state/agents" "$state"; do
    if [ -d "$d" ]; then
      printf '%s' "$d"
      return 0
    fi
  done
  return 1
}

# Whether a gateway holds this state dir (OpenClaw 2026.7.2+: STATE/tmp/openclaw-<uid>/gateway.*.lock with the
# owner's pid); prints the pid of a live one.
gateway_pid() {
  for lock in "$state"/tmp/openclaw-*/gateway.*.lock; do
    [ -f "$lock" ] || continue
    pid=$(sed -n 's/.*"pid"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$lock" | head -n 1)
    [ -n "$pid" ] || continue
    if kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; then
      printf '%s' "$pid"
      return 0
    fi
  done
  return 1
}

# session.maintenance.mode from openclaw.json (JSON5 comments and trailing commas tolerated), with node.
maintenance_mode() {
  config="$state/openclaw.json"
  [ -f "$config" ] || { printf 'unset'; return 0; }
  have node || { printf 'unknown'; return 0; }
  node -e '
    const fs = require("fs");
    let text = fs.readFileSync(process.argv[1], "utf8");
    let value;
    try { value = JSON.parse(text); } catch {
      try {
        text = text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, s) => s ?? "")
          .replace(/,(\s*[}\]])/g, "$1").replace(/([{,]\s*)([A-Za-z_$][\w$]*)\s*:/g, "$1\"$2\":");
        value = JSON.parse(text);
      } catch { process.stdout.write("unknown"); process.exit(0); }
    }
    const mode = value && value.session && value.session.maintenance && value.session.maintenance.mode;
    process.stdout.write(typeof mode === "string" ? mode : "unset");
  ' "$config" 2>/dev/null || printf 'unknown'
}

# Runs "$@" as the owner of the sessions folder when that is another user and we are root.
as_owner() {
  if [ "$(id -u)" = "$owner_uid" ] || [ "$(id -u)" != 0 ]; then
    "$@"
  elif have setpriv; then
    setpriv --reuid="$owner_uid" --regid="$owner_gid" --clear-groups -- "$@"
  elif [ -n "$owner_name" ] && [ "$owner_name" != UNKNOWN ] && have su; then
    # su takes one command string: quote every argument for sh.
    cmd=""
    for a do cmd="$cmd '$(printf '%s' "$a" | sed "s/'/'\\\\''/g")'"; done
    su -s /bin/sh -c "$cmd" "$owner_name"
  else
    fail "cannot run OpenClaw as user $owner_uid (the owner of $sessions): neither setpriv nor su is available"
  fi
}

read_owner() {
  where=$(owner_of) || fail "the state dir $state does not exist"
  owner_uid=$(stat -c %u "$where") || fail "cannot read the owner of $where"
  owner_gid=$(stat -c %g "$where") || fail "cannot read the group of $where"
  owner_name=$(stat -c %U "$where" 2>/dev/null) || owner_name=""
}

# Bundle: stored by the receive call; its hash is checked before anything is unpacked.
unpack() {
  staging=$1
  check_staging "$staging"
  [ -f "$staging/bundle.tar" ] || fail "the bundle did not arrive on the bot (no $staging/bundle.tar)"
  got=$(sha "$staging/bundle.tar") || fail "cannot hash the bundle on the bot"
  [ "$got" = "$2" ] || fail "the bundle arrived damaged on the bot (sha256 $got, expected $2); nothing was changed"
  mkdir "$staging/files" || fail "cannot unpack the bundle in $staging (is the disk full?)"
  (cd "$staging/files" && tar -x -o -f ../bundle.tar) || fail "cannot unpack the bundle in $staging (is the disk full?)"
  rm -f "$staging/bundle.tar"
  [ -f "$staging/files/MANIFEST" ] || fail "the bundle has no MANIFEST"
  while read -r fsha fmode fwhere fseq fhex fhex2 fsha2; do
    [ -n "$fhex" ] || continue
    case $fseq in *[!0-9]*) fail "unsafe entry $fseq in the bundle" ;; esac
    case $fwhere in s | w | d) ;; *) fail "unknown destination $fwhere in the bundle" ;; esac
    safe_name "$fwhere" "$fhex" || fail "unsafe name in the bundle"
    [ "$fwhere" = d ] && { safe_name w "$fhex2" || fail "unsafe name in the bundle"; }
    [ -f "$staging/files/$fseq" ] || fail "file $fseq is missing from the bundle"
    [ "$(sha "$staging/files/$fseq")" = "$fsha" ] || fail "file $fseq of the bundle does not match its sha256 on the bot"
  done <"$staging/files/MANIFEST"
}

# safe_name WHERE HEX: sessions/ takes one name; the workspace a name or memory/NAME. No "..", no leading ".".
safe_name() {
  unhex "$2"
  case $f in "" | .* | */.* | *//* | */ ) return 1 ;; esac
  case $1 in
    s) case $f in */*) return 1 ;; esac ;;
    *) case $f in */*/* | /*) return 1 ;; */*) case $f in memory/*) ;; *) return 1 ;; esac ;; esac ;;
  esac
  return 0
}

# Undo list: every name this run placed, as s:HEX (sessions/), w:HEX (workspace), d:HEX:HEX2 (the bot's own
# workspace file moved to HEX2). undo removes what was created and moves displaced files back.
created=""
undo() {
  for c in $created; do
    case $c in
      s:*) unhex "${c#s:}"; rm -f "$sessions/$f" ;;
      w:*) unhex "${c#w:}"; rm -f "$ws/$f" ;;
      d:*)
        rest=${c#d:}
        unhex "${rest#*:}"
        moved=$f
        unhex "${rest%%:*}"
        mv -f "$ws/$moved" "$ws/$f"
        ;;
    esac
  done
  created=""
  rm -f "$sessions"/.ocsync-restore-*.tmp "$ws"/.ocsync-restore-*.tmp "$ws"/memory/.ocsync-restore-*.tmp 2>/dev/null
  unmake_dirs
}

# place WHERE SEQ HEX MODE [HEX2 SHA2]: copy into its folder under a temp name, set owner and mode, then link to
# its name (never over a file); `d` first links the bot's own copy to HEX2, then renames the new one over it.
place() {
  pwhere=$1
  unhex "$3"
  pname=$f
  if [ "$pwhere" = s ]; then dest="$sessions/$pname"; else dest="$ws/$pname"; fi
  tmp="${dest%/*}/.ocsync-restore-$$.tmp"
  if ! cp "$staging/files/$2" "$tmp"; then
    rm -f "$tmp"
    return 10
  fi
  chmod "$4" "$tmp" || return 11
  if [ "$(id -u)" = 0 ]; then chown "$owner_uid:$owner_gid" "$tmp" || return 11; fi
  if [ "$pwhere" = d ]; then
    unhex "$5"
    moved="$ws/$f"
    [ -f "$dest" ] && [ "$(sha "$dest")" = "$6" ] || { rm -f "$tmp"; return 13; }
    # `ln` into an existing folder would link inside it: a name that exists in any form is taken.
    if [ -e "$moved" ] || [ -L "$moved" ] || ! ln "$dest" "$moved" 2>/dev/null; then
      rm -f "$tmp"
      return 12
    fi
    if ! mv -f "$tmp" "$dest"; then
      rm -f "$tmp" "$moved"
      return 10
    fi
    created="$created d:$3:$5"
    return 0
  fi
  if [ -e "$dest" ] || [ -L "$dest" ] || ! ln "$tmp" "$dest" 2>/dev/null; then
    rm -f "$tmp"
    return 12
  fi
  rm -f "$tmp"
  created="$created $pwhere:$3"
}

# place_all WHICH: `s` the sessions files (not the index of a file-era bundle: it goes last), `w` the workspace's.
place_all() {
  while read -r fsha fmode fwhere fseq fhex fhex2 fsha2; do
    [ -n "$fhex" ] || continue
    case $1 in
      s) [ "$fwhere" = s ] || continue
         [ "$fhex" = "$index_hex" ] && [ "$era" = files ] && continue ;;
      w) [ "$fwhere" = s ] && continue ;;
    esac
    place "$fwhere" "$fseq" "$fhex" "$fmode" "$fhex2" "$fsha2"
    rc=$?
    [ "$rc" = 0 ] && continue
    unhex "$fhex"
    if [ "$fwhere" = s ]; then shown="$sessions/$f"; else shown="$ws/$f"; fi
    undo
    case $rc in
      10) fail "could not write $shown (is the disk full?); nothing was changed" ;;
      12)
        if [ "$fwhere" = d ]; then unhex "$fhex2"; shown="$ws/$f"; fi
        fail "$shown appeared while restoring; nothing was changed, run restore again" ;;
      13) fail "$shown changed while restoring; nothing was changed, run restore again" ;;
      *) fail "could not set the owner or mode of $shown; nothing was changed" ;;
    esac
  done <"$staging/files/MANIFEST"
}

# Folders this run created (removed again by undo when they are still empty).
made=""
make_dir() {
  [ -d "$1" ] && return 0
  mkdir "$1" || return 1
  chmod "$2" "$1"
  if [ "$(id -u)" = 0 ]; then chown "$owner_uid:$owner_gid" "$1"; fi
  made="$(hexname "$1") $made"
}
unmake_dirs() {
  for d in $made; do
    unhex "$d"
    rmdir "$f" 2>/dev/null
  done
  made=""
}

make_workspace() {
  [ "$ws" != - ] || return 0
  grep -q ' [wd] ' "$staging/files/MANIFEST" || return 0
  # The missing folders down to the workspace, outermost first.
  while [ ! -d "$ws" ]; do
    p=$ws
    while [ -n "${p%/*}" ] && [ ! -d "${p%/*}" ]; do p=${p%/*}; done
    make_dir "$p" 755 || { undo; fail "cannot create the workspace folder $p; nothing was changed"; }
  done
  if grep -q " [wd] [0-9]* $(hexname memory/)" "$staging/files/MANIFEST"; then
    make_dir "$ws/memory" 755 || { undo; fail "cannot create $ws/memory; nothing was changed"; }
  fi
}

make_sessions() {
  for d in "$state/agents" "$state/agents/$agent" "$sessions"; do
    make_dir "$d" 700 || { undo; fail "cannot create $d"; }
  done
}

index_hex=$(hexname sessions.json)
ws=-

case $mode in
  probe)
    printf 'OCSYNC-RESTORE 1\n'
    if [ ! -d "$state" ]; then
      out state missing
      printf 'end\t0\n'
      exit 0
    fi
    out state ok
    read_owner
    out owner "$owner_uid" "$owner_gid" "$owner_name" "$where"
    out user "$(id -u)"
    avail=$(df -Pk "$state" 2>/dev/null | awk 'NR == 2 { print $4 }')
    out free "${avail:-unknown}"
    if pid=$(gateway_pid); then out gateway running "$pid"; else out gateway stopped; fi
    out maintenance "$(maintenance_mode)"
    legacy=0
    if [ -d "$sessions" ]; then
      for f in "$sessions"/sessions.json "$sessions"/*.jsonl; do [ -f "$f" ] && legacy=$((legacy + 1)); done
    fi
    out legacy "$legacy"
    for tool in tar sha256sum node openclaw setpriv su; do
      if have "$tool"; then out tool "$tool" yes; else out tool "$tool" no; fi
    done
    for d in "$state"/.ocsync-restore-*; do [ -d "$d" ] && out leftover "$d"; done
    printf 'end\t0\n'
    ;;

  prefix)
    printf 'OCSYNC-RESTORE 1\n'
    for spec do
      size=${spec##*:}
      fname=${spec%:*}
      case $fname in */* | .*) continue ;; esac
      p="$sessions/$fname"
      [ -f "$p" ] || continue
      sum=$(head -c "$size" "$p" | sha256sum) || continue
      out prefix "${sum%% *}" "$size" "$fname"
    done
    printf 'end\t0\n'
    ;;

  apply)
    staging=${1:?staging}
    bundle_sha=${2:?bundle sha}
    index_sha=${3:?index sha}
    ws=${4:-}
    [ -n "$ws" ] || ws=-
    era=files
    trap 'rm -rf "$staging"' EXIT
    # A signal (Ctrl-C, a dropped connection) before the index is in place: undo, leave the bot as it was.
    trap 'undo; exit 130' HUP INT TERM
    read_owner
    unpack "$staging" "$bundle_sha"
    if grep -q " s " "$staging/files/MANIFEST"; then make_sessions; fi
    make_workspace
    # The index as planned: a gateway that wrote it since is fine in principle, but the merge was computed
    # from the old one, so start over rather than lose its change.
    if [ "$index_sha" != skip ]; then
      current=-
      [ -f "$sessions/sessions.json" ] && current=$(sha "$sessions/sessions.json")
      [ "$current" = "$index_sha" ] || { undo; fail "the bot changed its sessions.json since restore read it; nothing was changed, run restore again"; }
    fi
    place_all s
    place_all w
    iline=$(grep " s [0-9]* $index_hex\$" "$staging/files/MANIFEST")
    if [ -n "$iline" ]; then
      set -- $iline
      imode=$2
      tmp="$sessions/.ocsync-restore-$$.tmp"
      if ! cp "$staging/files/$4" "$tmp"; then
        undo
        fail "could not write sessions.json into $sessions (is the disk full?); nothing was changed"
      fi
      chmod "${imode:-600}" "$tmp"
      if [ "$(id -u)" = 0 ]; then chown "$owner_uid:$owner_gid" "$tmp"; fi
      current=-
      [ -f "$sessions/sessions.json" ] && current=$(sha "$sessions/sessions.json")
      if [ "$current" != "$index_sha" ]; then
        undo
        fail "the bot changed its sessions.json while restoring; nothing was changed, run restore again"
      fi
      # The commit point: from here on the run finishes whatever happens to the connection.
      trap '' HUP INT TERM
      mv -f "$tmp" "$sessions/sessions.json" || { undo; fail "could not replace sessions.json in $sessions; nothing was changed"; }
    fi
    trap '' HUP INT TERM PIPE
    printf 'OCSYNC-RESTORE 1\n'
    for c in $created; do out placed "$c"; done
    printf 'end\t0\n'
    ;;

  import)
    staging=${1:?staging}
    bundle_sha=${2:?bundle sha}
    ws=${3:?workspace}
    shift 3
    [ "$#" -gt 0 ] || fail "no OpenClaw command given"
    era=sqlite
    trap 'rm -rf "$staging"' EXIT
    trap 'undo; exit 130' HUP INT TERM
    read_owner
    if pid=$(gateway_pid); then
      fail "the OpenClaw gateway (pid $pid) is running; stop it before restoring into a SQLite-era bot"
    fi
    if [ -d "$sessions" ]; then
      for f in "$sessions"/sessions.json "$sessions"/*.jsonl; do
        [ -f "$f" ] && fail "$sessions already holds files waiting for OpenClaw's import ($f); run 'openclaw doctor --fix' on the bot first"
      done
    fi
    unpack "$staging" "$bundle_sha"
    make_sessions
    place_all s
    # From here OpenClaw's importer owns the run: it is not interrupted (a signal, or a connection gone so that
    # writing fails, waits for it), and whatever it did not take out of sessions/ is removed again below.
    trap '' HUP INT TERM PIPE
    printf 'OCSYNC-RESTORE 1\n'
    # doctor may run for minutes without a word: keep the connection alive with a line every 5 seconds.
    log="$staging/doctor.log"
    # A temp dir of the gateway user's own (a /tmp/openclaw left by root would stop doctor), removed with staging.
    mkdir "$staging/tmp" && chmod 700 "$staging/tmp" && chmod 711 "$staging"
    if [ "$(id -u)" = 0 ]; then chown "$owner_uid:$owner_gid" "$staging/tmp"; fi
    (
      cd "$state" 2>/dev/null || cd /
      OPENCLAW_STATE_DIR=$state NO_COLOR=1 CI=1 TMPDIR=$staging/tmp
      export OPENCLAW_STATE_DIR NO_COLOR CI TMPDIR
      if [ "$(id -u)" = 0 ] && [ "$owner_uid" != 0 ]; then
        # The gateway user's home, or (nobody's /nonexistent) the private temp dir: OpenClaw writes below HOME.
        HOME=$(getent passwd "$owner_uid" 2>/dev/null | cut -d: -f6)
        [ -n "$HOME" ] && [ -d "$HOME" ] || HOME=$staging/tmp
        export HOME
      fi
      as_owner "$@" doctor --fix --yes --non-interactive </dev/null >"$log" 2>&1
      echo "$?" >"$staging/doctor.status"
    ) &
    doctor=$!
    while kill -0 "$doctor" 2>/dev/null; do
      out progress doctor
      sleep 5 &
      wait $! 2>/dev/null
      [ -f "$staging/doctor.status" ] && break
    done
    wait "$doctor" 2>/dev/null
    status=$(cat "$staging/doctor.status" 2>/dev/null || echo 127)
    while IFS= read -r line; do out doctor "$line"; done <"$log"
    out doctor-status "$status"
    left=""
    for c in $created; do
      unhex "${c#s:}"
      [ -e "$sessions/$f" ] && left="$left $c"
    done
    if [ "$status" != 0 ] || [ -n "$left" ]; then
      # A gateway started with legacy files in sessions/ exits 78 until an import succeeds: take ours out.
      names=""
      for c in $left; do
        unhex "${c#s:}"
        rm -f "$sessions/$f"
        names="$names $f"
      done
      out left "$names"
      printf 'end\t1\n'
      exit 0
    fi
    created=""
    # The workspace files, once the import went through (a failure here takes them out again).
    trap 'undo; exit 130' HUP INT TERM
    make_workspace
    place_all w
    trap '' HUP INT TERM PIPE
    for c in $created; do out placed "$c"; done
    printf 'end\t0\n'
    ;;

  maintenance-warn)
    config="$state/openclaw.json"
    have node || fail "node is needed on the bot to change openclaw.json"
    read_owner
    node -e '
      const fs = require("fs");
      const path = process.argv[1];
      let value = {};
      let stat;
      if (fs.existsSync(path)) {
        stat = fs.statSync(path);
        try { value = JSON.parse(fs.readFileSync(path, "utf8")); }
        catch { console.error("ocsync-error: openclaw.json is not plain JSON (comments?); set it on the bot with: openclaw config set session.maintenance.mode warn"); process.exit(3); }
      }
      if (!value || typeof value !== "object" || Array.isArray(value)) { console.error("ocsync-error: openclaw.json is not a JSON object"); process.exit(3); }
      value.session = value.session && typeof value.session === "object" ? value.session : {};
      value.session.maintenance = value.session.maintenance && typeof value.session.maintenance === "object" ? value.session.maintenance : {};
      value.session.maintenance.mode = "warn";
      const tmp = path + ".ocsync-restore.tmp";
      fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n", { mode: stat ? stat.mode & 0o777 : 0o600 });
      if (process.getuid && process.getuid() === 0) fs.chownSync(tmp, stat ? stat.uid : Number(process.argv[2]), stat ? stat.gid : Number(process.argv[3]));
      fs.renameSync(tmp, path);
    ' "$config" "$owner_uid" "$owner_gid" || exit 3
    printf 'OCSYNC-RESTORE 1\nend\t0\n'
    ;;

  cleanup)
    staging=${1:?staging}
    check_staging "$staging"
    rm -rf "$staging"
    printf 'OCSYNC-RESTORE 1\nend\t0\n'
    ;;

  *) fail "unknown mode $mode" ;;
esac
