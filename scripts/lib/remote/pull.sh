# pull.sh: runs ON the bot's machine (POSIX sh: dash, bash or BusyBox ash). Reads, never writes: no temporary
# file, nothing in the state dir. Streams one agent's session files with a hash computed here, so the local side
# can check every byte end to end.
#
# Invoked as:  sh -s -- MODE STATE_DIR AGENT [-EXCLUDE_PATTERN | +INCLUDE_PATTERN]...
#   MODE      manifest (sizes and hashes only) or stream (the files too)
#   patterns  shell `case` patterns on file names: a name matching any -pattern is skipped, then it must
#             match a +pattern to be sent
#
# Output on stdout, gzip-compressed when gzip exists (the local side tells by the magic bytes):
#   OCSYNC 1 <mode>\n
#   F <size> <sha256> <name>\n          then, in stream mode, exactly <size> bytes and "\n"
#   E <status> <files>\n                 last record: the program's own exit status
# A file is sent as its first <size> bytes, measured just before it is read, so a transcript the bot appends to
# meanwhile is sent as a consistent prefix. A file that shrank meanwhile is padded with NULs so the framing
# holds; its hash no longer matches and the local side rejects the whole run.
set -u
LC_ALL=C
export LC_ALL

mode=${1:?mode}
state=${2:?state dir}
agent=${3:?agent}
shift 3

fail() {
  printf 'ocsync-error: %s\n' "$*" >&2
  exit 3
}

case $mode in manifest | stream) ;; *) fail "unknown mode $mode" ;; esac
dir="$state/agents/$agent/sessions"
[ -d "$dir" ] || fail "no sessions folder at $dir"
cd "$dir" 2>/dev/null || fail "cannot open $dir"
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed on the bot's machine"

wanted() {
  name=$1
  shift
  for p do
    case $p in -*) case $name in ${p#-}) return 1 ;; esac ;; esac
  done
  for p do
    case $p in +*) case $name in ${p#+}) return 0 ;; esac ;; esac
  done
  return 1
}

emit() {
  printf 'OCSYNC 1 %s\n' "$mode"
  n=0
  status=0
  for f in *; do
    [ -f "$f" ] || continue
    [ -L "$f" ] && continue
    case $f in *'
'*) continue ;; esac
    wanted "$f" "$@" || continue
    size=$(wc -c <"$f") || { status=4; printf 'ocsync-error: cannot read %s\n' "$f" >&2; break; }
    size=$((size + 0))
    sum=$(head -c "$size" "$f" | sha256sum) || { status=4; printf 'ocsync-error: cannot hash %s\n' "$f" >&2; break; }
    sum=${sum%% *}
    printf 'F %s %s %s\n' "$size" "$sum" "$f"
    if [ "$mode" = stream ]; then
      { head -c "$size" "$f"; cat /dev/zero; } 2>/dev/null | head -c "$size"
      printf '\n'
    fi
    n=$((n + 1))
  done
  printf 'E %s %s\n' "$status" "$n"
}

if command -v gzip >/dev/null 2>&1; then
  emit "$@" | gzip -c -1
else
  emit "$@"
fi
