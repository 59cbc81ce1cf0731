# workspace.sh: runs ON the bot's machine (POSIX sh: dash, bash or BusyBox ash). Reads, never writes.
# The agent's memory files in its workspace (MEMORY.md, memory/*.md, USER.md, SOUL.md, IDENTITY.md, AGENTS.md,
# TOOLS.md), for sync (backup) and restore (what the bot already has). Where the workspace is, the local side
# decides (scripts/lib/openclaw/workspace.mts) from the facts this program reports.
#
# Invoked as:  sh -s -- MODE STATE_DIR AGENT [ARG]...     (this file on stdin; never through a PTY)
#   facts [WORKSPACE]    what tells where the workspace is: openclaw.json's workspace settings, the home folder
#                        of the gateway's user (the owner of the state dir); with WORKSPACE (where the last sync
#                        found it), the manifest of WORKSPACE follows the facts, saving a call on a daily run
#   manifest WORKSPACE   sizes and hashes of the memory files (and of copies a restore put beside them,
#                        `<name>.restore-displaced-<hash>`), no data
#   stream   WORKSPACE [=HEXPATH]...   the memory files with their data (only the named ones, when named:
#                        the paths' bytes in hex; a named path that is not a memory file is ignored)
# facts output (tab-separated records): OCSYNC-WORKSPACE 1, `config ok|missing|unreadable`,
#   `agent-workspace PATH`, `defaults-workspace PATH`, `default-agent ID`, `home PATH`, `end 0`. An openclaw.json
#   without the words `workspace` and `list` is `ok` with the defaults, unparsed (node is a tenth of a second).
# manifest/stream output: the OCSYNC 2 records of pull.sh (F <size> <sha256> <hexname>, then the bytes in stream
# mode; S for a symlink or other entry that is not read; E <status> <files> last), where a name is the path
# inside the workspace (`MEMORY.md`, `memory/2026-11-30.md`); stream output gzip-compressed when gzip exists.
set -u
LC_ALL=C
export LC_ALL

mode=${1:?mode}
state=${2:?state dir}
agent=${3:?agent}
shift 3
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

if [ "$mode" = facts ]; then
  printf 'OCSYNC-WORKSPACE 1\n'
  config="$state/openclaw.json"
  if [ ! -f "$config" ]; then
    out config missing
  elif have grep && ! grep -q -E 'workspace|list' "$config" 2>/dev/null && [ -r "$config" ]; then
    # Nothing in it can move the workspace or name another default agent: the answer without starting node
    # (most of this call's time on a bot).
    out config ok
    out default-agent main
  elif ! have node; then
    out config unreadable
  else
    # openclaw.json is JSON5: comments, trailing commas and bare keys tolerated.
    node -e '
      const fs = require("fs");
      let text = fs.readFileSync(process.argv[1], "utf8");
      let value;
      try { value = JSON.parse(text); } catch {
        try {
          text = text.replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m, s) => s ?? "")
            .replace(/,(\s*[}\]])/g, "$1").replace(/([{,]\s*)([A-Za-z_$][\w$]*)\s*:/g, "$1\"$2\":");
          value = JSON.parse(text);
        } catch { process.stdout.write("config\tunreadable\n"); process.exit(0); }
      }
      const line = (k, v) => typeof v === "string" && v.trim() && process.stdout.write(k + "\t" + v.trim().replace(/[\t\r\n]/g, " ") + "\n");
      process.stdout.write("config\tok\n");
      const agents = value && value.agents && typeof value.agents === "object" ? value.agents : {};
      const list = Array.isArray(agents.list) ? agents.list.filter((e) => e && typeof e === "object") : [];
      const norm = (id) => String(id ?? "").trim().toLowerCase();
      const mine = list.find((e) => norm(e.id) === norm(process.argv[2]));
      line("agent-workspace", mine && mine.workspace);
      line("defaults-workspace", agents.defaults && agents.defaults.workspace);
      const chosen = list.find((e) => e.default === true) || list[0];
      line("default-agent", chosen ? norm(chosen.id) : "main");
    ' "$config" "$agent" 2>/dev/null || out config unreadable
  fi
  where=$state
  home=""
  if have getent; then
    uid=$(stat -c %u "$where" 2>/dev/null) && home=$(getent passwd "$uid" 2>/dev/null | cut -d: -f6)
  fi
  [ -n "$home" ] || home=${HOME:-}
  [ -n "$home" ] && out home "$home"
  printf 'end\t0\n'
  [ "$#" -ge 1 ] || exit 0
  mode=manifest
fi

case $mode in manifest | stream) ;; *) fail "unknown mode $mode" ;; esac
ws=${1:?workspace}
shift
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed on the bot's machine"
command -v od >/dev/null 2>&1 || fail "od is not installed on the bot's machine"

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

# memory_file PATH: one of the agent's memory files (the top files, memory/<name>.md)
memory_file() {
  case $1 in
    AGENTS.md | IDENTITY.md | MEMORY.md | SOUL.md | TOOLS.md | USER.md) return 0 ;;
    memory/.* | memory/*/*) return 1 ;;
    memory/?*.md) return 0 ;;
  esac
  return 1
}

# entry PATH: "file" for a regular file with one link, the only kind that is read; else why not
entry() {
  if [ -L "$1" ]; then
    echo symlink
  elif [ ! -f "$1" ]; then
    echo other
  else
    set -f
    # shellcheck disable=SC2046 # the fields of ls -ld: mode, link count, ...
    set -- $(ls -ld -- "$1" 2>/dev/null)
    set +f
    if [ "${2:-}" = 1 ]; then echo file; else echo hardlink; fi
  fi
}

status=0
n=0
send() {
  rel=$1
  p="$ws/$rel"
  k=$(entry "$p")
  if [ "$k" != file ]; then
    printf 'S %s %s\n' "$(hexname "$rel")" "$k"
    return 0
  fi
  size=$(wc -c <"$p") || { status=4; printf 'ocsync-error: cannot read %s\n' "$p" >&2; return 1; }
  size=$((size + 0))
  sum=$(head -c "$size" "$p" | sha256sum) || { status=4; return 1; }
  printf 'F %s %s %s\n' "$size" "${sum%% *}" "$(hexname "$rel")"
  if [ "$mode" = stream ]; then
    { head -c "$size" "$p"; cat /dev/zero; } 2>/dev/null | head -c "$size"
    printf '\n'
  fi
  n=$((n + 1))
}

emit() {
  printf 'OCSYNC 2 %s\n' "$mode"
  if [ -d "$ws" ] && [ "$#" -gt 0 ]; then
    printf 'I workspace present\n'
    for arg do
      case $arg in =*) ;; *) continue ;; esac
      unhex "${arg#=}"
      memory_file "$f" || continue
      [ -e "$ws/$f" ] || [ -L "$ws/$f" ] || continue
      send "$f" || break
    done
  elif [ -d "$ws" ]; then
    printf 'I workspace present\n'
    for name in AGENTS.md IDENTITY.md MEMORY.md SOUL.md TOOLS.md USER.md; do
      [ -e "$ws/$name" ] || [ -L "$ws/$name" ] || continue
      send "$name" || break
    done
    if [ "$mode" = manifest ]; then
      # Copies an earlier restore put beside the bot's own (restore needs them to stay idempotent).
      for f in "$ws"/*.restore-displaced-*; do
        [ -f "$f" ] && { send "${f##*/}" || break; }
      done
    fi
    if [ -d "$ws/memory" ] && [ ! -L "$ws/memory" ]; then
      for f in "$ws"/memory/*.md; do
        [ -e "$f" ] || [ -L "$f" ] || continue
        send "memory/${f##*/}" || break
      done
      if [ "$mode" = manifest ]; then
        for f in "$ws"/memory/*.restore-displaced-*; do
          [ -f "$f" ] && { send "memory/${f##*/}" || break; }
        done
      fi
    fi
  else
    printf 'I workspace missing\n'
  fi
  printf 'E %s %s\n' "$status" "$n"
}

if [ "$mode" = stream ] && have gzip; then
  emit "$@" | gzip -c -1
else
  emit "$@"
fi
