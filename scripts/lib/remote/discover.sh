# discover.sh: runs ON the bot's machine (POSIX sh: dash, bash or BusyBox ash). Reads, never writes.
# Tells the local side what is there before anything is transferred: the state dir, its agents, which storage
# era each agent's sessions are in, the OpenClaw version from every source, and the tools available.
#
# Invoked as:  sh -s -- STATE_DIR [-EXCLUDE]...   (this file on stdin; never through a PTY)
#   -EXCLUDE: shell patterns of names that are not conversations (scripts/lib/openclaw/files.mts), left out of
#   the transcript count
# Output (stdout, one record per line, tab-separated):
#   OCSYNC-DISCOVER 1
#   state <ok|missing|notdir|unreadable> <dir>
#   version <cli|app|package|installed|config> <text>
#   tool <name> <yes|no>
#   agent <id> <sessions:0|1> <sqlite:0|1> <conversations> <bytes> <legacy-import-archive:0|1>
#   end 0
set -u
LC_ALL=C
export LC_ALL
state=${1:-/data}
[ $# -gt 0 ] && shift
tab=$(printf '\t')
cr=$(printf '\r')
nl='
'

out() {
  # out FIELD... : one tab-separated record; tabs and newlines inside fields become spaces (a process only for
  # a field that holds one: each costs milliseconds, and a bot has dozens of records)
  line=""
  for field do
    case $field in
      *"$tab"* | *"$cr"* | *"$nl"*) field=$(printf '%s' "$field" | tr '\t\r\n' '   ') ;;
    esac
    if [ -z "$line" ]; then line=$field; else line="$line$tab$field"; fi
  done
  printf '%s\n' "$line"
}

have() { command -v "$1" >/dev/null 2>&1; }

# Runs a command with a time limit where `timeout` exists (GNU coreutils and BusyBox both have it).
limited() {
  if have timeout; then timeout 20 "$@"; else "$@"; fi
}

# casepat PATTERN: q becomes PATTERN as case-statement text for eval: glob characters stay, a backslash keeps
# the character after it literal (sync sends exact names with * ? [ ] \ so escaped), anything else is quoted.
casepat() {
  q=
  r=$1
  while [ -n "$r" ]; do
    c=${r%"${r#?}"}
    r=${r#?}
    case $c in
      [A-Za-z0-9*?!^._:=-] | '[' | ']') q=$q$c ;;
      \\)
        c=${r%"${r#?}"}
        r=${r#?}
        case $c in "'") q="$q\\'" ;; *) q="$q'$c'" ;; esac
        ;;
      "'") q="$q\\'" ;;
      *) q="$q'$c'" ;;
    esac
  done
}

# skipped NAME: whether a pattern leaves the name out. One case statement made from the patterns (a loop over
# them for each file is a tenth of a second on a bot with thousands of transcripts).
arms=
for p do
  casepat "${p#-}"
  [ -n "$q" ] && arms="${arms:+$arms|}$q"
done
if [ -n "$arms" ]; then
  eval "skipped() { case \$1 in ($arms) return 0 ;; esac; return 1; }"
else
  skipped() { return 1; }
fi

# measure FILE...: "<count> <bytes>" of the regular files among them that no pattern leaves out (a pattern that
# matched nothing stays as itself and is no file), from one stat; nothing when that cannot be told so.
measure() {
  command -v stat >/dev/null 2>&1 || return 0
  flags=
  for f do
    # Only a glob can have stayed unmatched (it keeps its `*`); the type comes with the size, from stat.
    case $f in *'*'*) if [ ! -e "$f" ] && [ ! -L "$f" ]; then flags="${flags}m" && continue; fi ;; esac
    if skipped "${f##*/}"; then flags="${flags}n"; else flags="${flags}w"; fi
  done
  case $flags in *w*) ;; *) echo 0 0 && return 0 ;; esac
  stat -L -c '%s %F' -- "$@" 2>/dev/null | awk -v flags="$flags" '
    { size[++n] = $1; regular[n] = ($2 == "regular") }
    END {
      count = 0; bytes = 0; j = 0
      for (i = 1; i <= length(flags); i++) {
        f = substr(flags, i, 1)
        if (f == "m") continue
        j++
        if (f == "w" && regular[j]) { count++; bytes += size[j] }
      }
      if (j == n) printf "%d %.0f\n", count, bytes
    }'
}

printf 'OCSYNC-DISCOVER 1\n'

if [ -e "$state" ] && [ ! -d "$state" ]; then
  out state notdir "$state"
  printf 'end\t0\n'
  exit 0
fi
if [ ! -d "$state" ]; then
  out state missing "$state"
  printf 'end\t0\n'
  exit 0
fi
if [ ! -r "$state" ] || [ ! -x "$state" ]; then
  out state unreadable "$state"
  printf 'end\t0\n'
  exit 0
fi
out state ok "$state"

for tool in sha256sum gzip head wc node openclaw tar; do
  if have "$tool"; then out tool "$tool" yes; else out tool "$tool" no; fi
done

# OpenClaw version, every source the reference lists; the local side picks in order of preference.
if have openclaw; then
  v=$(limited openclaw --version 2>/dev/null </dev/null | head -n 1)
  [ -n "$v" ] && out version cli "$v"
fi
if have node && [ -f /app/openclaw.mjs ]; then
  v=$(limited node /app/openclaw.mjs --version 2>/dev/null </dev/null | head -n 1)
  [ -n "$v" ] && out version app "$v"
fi
if [ -r /app/package.json ]; then
  v=$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' /app/package.json | head -n 1)
  [ -n "$v" ] && out version package "$v"
fi
# No CLI on PATH: the package npm installed next to the bot's node (global prefix), or in the usual places.
if ! have openclaw; then
  for p in "$(dirname "$(dirname "$(command -v node 2>/dev/null || echo /x/x/node)")")/lib/node_modules/openclaw/package.json" \
    /usr/local/lib/node_modules/openclaw/package.json /usr/lib/node_modules/openclaw/package.json \
    /opt/openclaw/package.json "${HOME:-/nonexistent}/.npm-global/lib/node_modules/openclaw/package.json"; do
    [ -r "$p" ] || continue
    v=$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$p" | head -n 1)
    [ -n "$v" ] && out version installed "$v" && break
  done
fi
if [ -r "$state/openclaw.json" ]; then
  v=$(sed -n 's/.*"\{0,1\}lastTouchedVersion"\{0,1\}[[:space:]]*:[[:space:]]*["'"'"']\([^"'"'"']*\)["'"'"'].*/\1/p' "$state/openclaw.json" | head -n 1)
  [ -n "$v" ] && out version config "$v"
fi
if have node; then
  out node "$(node --version 2>/dev/null)"
fi

if [ -d "$state/agents" ]; then
  for a in "$state"/agents/*/; do
    [ -d "$a" ] || continue
    id=${a%/}
    id=${id##*/}
    sessions=0
    sqlite=0
    legacy=0
    count=0
    bytes=0
    if [ -d "$a/sessions" ]; then
      sessions=1
      # One stat for the folder (a process per file is seconds on a bot with thousands of transcripts); per file
      # where stat -c is missing (not GNU or BusyBox) or the folder changed meanwhile.
      set -- "$a"/sessions/*.jsonl "$a"/sessions/*.jsonl.reset.* "$a"/sessions/*.jsonl.deleted.* "$a"/sessions/*.jsonl.bak.*
      measured=$(measure "$@")
      if [ -n "$measured" ]; then
        count=${measured% *}
        bytes=${measured#* }
      else
        for f do
          [ -f "$f" ] || continue
          skipped "${f##*/}" && continue
          count=$((count + 1))
          size=$(wc -c <"$f" 2>/dev/null) || size=0
          bytes=$((bytes + size))
        done
      fi
    fi
    [ -f "$a/agent/openclaw-agent.sqlite" ] && sqlite=1
    [ -d "$a/session-sqlite-import-archive" ] && legacy=1
    out agent "$id" "$sessions" "$sqlite" "$count" "$bytes" "$legacy"
  done
fi
printf 'end\t0\n'
