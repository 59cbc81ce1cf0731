# pull.sh: runs ON the bot's machine (POSIX sh: dash, bash or BusyBox ash). Reads, never writes: no temporary
# file, nothing in the state dir. Streams one agent's session files with a hash computed here, so the local side
# can check every byte end to end.
#
# Invoked as:  sh -s -- MODE STATE_DIR AGENT [ARG]...
#   manifest  [-EXCLUDE | +INCLUDE]...  sizes and hashes of the chosen files, no data
#   manifest  %quick [-EXCLUDE | +INCLUDE]...
#             the quick check: size, mtime and inode of the chosen files, nothing read (one `stat` for the
#             folder); without GNU/BusyBox `stat -c` and `date +%s` on the bot, the plain manifest instead
#   stream    [-EXCLUDE | +INCLUDE]...  the chosen files with their data
#             (shell `case` patterns on file names: a name matching any -pattern is skipped, then it must
#             match a +pattern to be sent)
#   fetch     [=HEXNAME:OFFSET:SHA256]...  exactly the named files; with OFFSET > 0, when the file's first
#             OFFSET bytes still hash to SHA256 (the backup already has them), only the bytes after OFFSET
#
# Output on stdout, gzip-compressed when gzip exists, except the small manifest (the local side tells by the
# magic bytes). Every <hexname> is the file name's bytes in lowercase hex: any name the filesystem allows (any
# byte but "/" and NUL, newlines and backslashes included) travels byte-exact.
#   OCSYNC 2 <mode>\n
#   F <size> <sha256> <hexname>\n              then, except in manifest mode, exactly <size> bytes and "\n"
#   U <bytes>\n                                (manifest, after the F record of a *.jsonl file that does not end in
#                                              "\n") its unfinished last line is <bytes> long: a real run holds it
#                                              back, so a dry run can say so without moving the data
#   P <offset> <size> <sha256> <hexname>\n     (fetch) the bytes from <offset> to <size>, then "\n"; the hash
#                                              is of the whole first <size> bytes
#   G <hexname>\n                              (fetch) the named file is gone
#   S <hexname> <why>\n                        an entry that is not read: symlink, hardlink (a second name of a
#                                              file elsewhere, e.g. openclaw.json), other (folder, fifo, socket)
#   Q <size> <mtime> <inode> <hexname>\n       (manifest %quick) a file's stat, mtime in whole seconds; with
#                                              `I now <seconds>` first, the bot's clock when it was listed;
#                                              (stream %quick) the same just before the file's F record, taken
#                                              before it is read
#   E <status> <files>\n                       last record: the program's own exit status
# A file is sent as its first <size> bytes, measured just before it is read, so a transcript the bot appends to
# meanwhile is sent as a consistent prefix. A file that shrank meanwhile is padded with NULs so the framing
# holds; its hash no longer matches and the local side rejects the whole run.
set -u
# bash 5.2 as sh skips . and .. in globs (globskipdots): then ./.* in a folder without dot files stays as itself
# and the quick listing would always fall back to hashing. Other shells have no shopt.
if command -v shopt >/dev/null 2>&1; then shopt -u globskipdots 2>/dev/null; fi
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

case $mode in manifest | stream | fetch) ;; *) fail "unknown mode $mode" ;; esac
dir="$state/agents/$agent/sessions"
[ -d "$dir" ] || fail "no sessions folder at $dir"
cd "$dir" 2>/dev/null || fail "cannot open $dir"
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed on the bot's machine"
command -v od >/dev/null 2>&1 || fail "od is not installed on the bot's machine"

# hexname NAME: the name's bytes as lowercase hex
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

# entry NAME: "file" for a regular file with one link, the only kind that is read; else why not (see S above)
entry() {
  if [ -L "./$1" ]; then
    echo symlink
  elif [ ! -f "./$1" ]; then
    echo other
  else
    set -f
    # shellcheck disable=SC2046 # the fields of ls -ld: mode, link count, ...
    set -- $(ls -ld -- "./$1" 2>/dev/null)
    set +f
    if [ "${2:-}" = 1 ]; then echo file; else echo hardlink; fi
  fi
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

# patterns [+INCLUDE | -EXCLUDE]...: defines wanted NAME (no -pattern matches it, a +pattern does) as one case
# statement per kind (a loop over the patterns for each file is a tenth of a second on a bot with thousands).
patterns() {
  ex=
  in=
  for p do
    case $p in
      -?*) casepat "${p#-}" && ex="${ex:+$ex|}$q" ;;
      +?*) casepat "${p#+}" && in="${in:+$in|}$q" ;;
    esac
  done
  eval "wanted() { case \$1 in (${ex:-\"\"}) return 1 ;; esac; case \$1 in (${in:-\"\"}) return 0 ;; esac; return 1; }"
}

# hash FILE COUNT: sha256 of the first COUNT bytes
hash() {
  sum=$(head -c "$2" "$1" | sha256sum) || return 1
  printf '%s' "${sum%% *}"
}

# bytes FILE FROM COUNT: COUNT bytes from offset FROM, NUL-padded if the file is shorter now
bytes() {
  if [ "$2" -eq 0 ]; then
    { head -c "$3" "$1"; cat /dev/zero; } 2>/dev/null | head -c "$3"
  else
    { tail -c +"$(($2 + 1))" "$1" | head -c "$3"; cat /dev/zero; } 2>/dev/null | head -c "$3"
  fi
}

# unfinished FILE SIZE: a U record when FILE does not end in "\n". One process for a complete file (tail seeks to
# the end; the command substitution drops a final "\n", so it is empty exactly then).
unfinished() {
  [ -n "$(tail -c 1 "$1")" ] || return 0
  u=$(tail -n 1 "$1" | wc -c) || return 0
  u=$((u + 0))
  [ "$u" -gt 0 ] && [ "$u" -le "$2" ] && printf 'U %s\n' "$u"
  return 0
}

status=0
n=0

# send FILE [OFFSET BASE_SHA]: one F (or P) record with its bytes
send() {
  f=$1
  p="./$f" # a name may start with "-": never let a tool read it as an option
  stamp=
  if [ "$mode" = stream ] && [ "$quick" = 1 ] && [ -n "$now" ]; then
    stamp=$(stat -c '%s %Y %i' -- "$p" 2>/dev/null) || stamp=
  fi
  size=$(wc -c <"$p") || { status=4; printf 'ocsync-error: cannot read %s\n' "$f" >&2; return 1; }
  size=$((size + 0))
  sum=$(hash "$p" "$size") || { status=4; printf 'ocsync-error: cannot hash %s\n' "$f" >&2; return 1; }
  offset=${2:-0}
  if [ "$offset" -gt 0 ] && [ "$size" -ge "$offset" ] && [ "$(hash "$p" "$offset")" = "$3" ]; then
    printf 'P %s %s %s %s\n' "$offset" "$size" "$sum" "$(hexname "$f")"
    bytes "$p" "$offset" "$((size - offset))"
    printf '\n'
  else
    if [ "$mode" = stream ] && [ "$quick" = 1 ] && [ -n "$stamp" ]; then
      printf 'Q %s %s\n' "$stamp" "$(hexname "$f")"
    fi
    printf 'F %s %s %s\n' "$size" "$sum" "$(hexname "$f")"
    if [ "$mode" != manifest ]; then
      bytes "$p" 0 "$size"
      printf '\n'
    elif [ "$size" -gt 0 ]; then
      case $f in *.jsonl) unfinished "$p" "$size" ;; esac
    fi
  fi
  n=$((n + 1))
}

# quick [PATTERN]...: the %quick listing's records (Q, S and E), from one stat and one od over the whole folder;
# returns 1, having printed nothing, when the tools for it are missing or the folder changed meanwhile.
quick() {
  command -v stat >/dev/null 2>&1 || return 1
  now=$(date +%s 2>/dev/null) || return 1
  case $now in '' | *[!0-9]*) return 1 ;; esac
  set -- ./* ./.*
  [ "$1" = "./*" ] && [ ! -e "./*" ] && [ ! -L "./*" ] && shift
  # w: a wanted name, n: not wanted; one letter per name, in order.
  flags=
  for f do
    if wanted "${f#./}"; then flags="${flags}w"; else flags="${flags}n"; fi
  done
  st=$(stat -c '%s %Y %i %h %F' -- "$@" 2>/dev/null) || return 1
  printf 'I now %s\n' "$now"
  { printf '%s\n--\n' "$st"; printf '%s\0' "$@" | od -An -v -tx1; } | awk -v flags="$flags" '
    part == 0 { if ($0 == "--") part = 1; else st[++ns] = $0; next }
    { for (i = 1; i <= NF; i++) if ($i == "00") { names[++nn] = cur; cur = "" } else cur = cur $i }
    END {
      if (nn != ns || nn != length(flags)) { print "E 6 0"; exit }
      count = 0
      for (i = 1; i <= nn; i++) {
        hex = substr(names[i], 5)
        if (hex == "2e" || hex == "2e2e") continue
        split(st[i], a, " ")
        type = st[i]
        sub(/^[^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", type)
        if (type == "symbolic link") print "S " hex " symlink"
        else if (type != "regular file" && type != "regular empty file") print "S " hex " other"
        else if (a[4] != 1) print "S " hex " hardlink"
        else if (substr(flags, i, 1) == "w") { print "Q " a[1] " " a[2] " " a[3] " " hex; count++ }
      }
      print "E 0 " count
    }'
}

emit() {
  printf 'OCSYNC 2 %s\n' "$mode"
  if [ "$quick" = 1 ] && [ "$mode" = manifest ] && quick "$@"; then
    return
  fi
  now=
  if [ "$quick" = 1 ] && [ "$mode" = stream ] && command -v stat >/dev/null 2>&1; then
    now=$(date +%s 2>/dev/null) || now=
    case $now in '' | *[!0-9]*) now= ;; *) printf 'I now %s\n' "$now" ;; esac
  fi
  if [ "$mode" = fetch ]; then
    for arg do
      case $arg in =*) ;; *) continue ;; esac
      spec=${arg#=}
      base=${spec##*:}
      rest=${spec%:*}
      offset=${rest##*:}
      hex=${rest%:*}
      unhex "$hex"
      case $f in */* | . | ..) f= ;; esac
      if [ -z "$f" ] || { [ ! -e "./$f" ] && [ ! -L "./$f" ]; }; then
        printf 'G %s\n' "$hex"
        continue
      fi
      k=$(entry "$f")
      if [ "$k" != file ]; then
        printf 'S %s %s\n' "$hex" "$k"
        continue
      fi
      send "$f" "$offset" "$base" || break
    done
  else
    # Every name, dot-files too (`.*` also yields . and .., which are not regular files).
    for f in * .*; do
      case $f in . | ..) continue ;; esac
      [ -e "./$f" ] || [ -L "./$f" ] || continue # an unmatched `*` or `.*` stays as it is
      k=$(entry "$f")
      if [ "$k" != file ]; then
        printf 'S %s %s\n' "$(hexname "$f")" "$k"
        continue
      fi
      wanted "$f" || continue
      send "$f" || break
    done
  fi
  printf 'E %s %s\n' "$status" "$n"
}

patterns "$@"
quick=0
for arg do
  case $arg in %quick) quick=1 ;; esac
done

# The listing is small and gzip would hold it back until every file is hashed (the idle timeout counts from the
# last byte seen), so only data and the quick listing (nothing to hash) are compressed.
if { [ "$mode" != manifest ] || [ "$quick" = 1 ]; } && command -v gzip >/dev/null 2>&1; then
  emit "$@" | gzip -c -1
else
  emit "$@"
fi
