#!/usr/bin/env bash
# The steps of the sync job of .github/workflows/sync-memory.yml, one function each, run from the repository
# root:  bash scripts/ci/step.sh sync|prune|verify|commit|push|failed
# They read FLY_APP, FLY_MACHINE, REMOTE_STATE_DIR and MEMORY_DIR (the job's matrix target, checked and filled in
# by the config job, scripts/ci/targets.mts), PRUNE_OLDER_THAN, and the runner's GITHUB_REF_NAME, RUNNER_TEMP, GITHUB_STEP_SUMMARY and
# GITHUB_OUTPUT. Files handed from step to step live in $RUNNER_TEMP/ocsync/.
# Every failure prints one sentence as an ::error:: annotation and into the job summary, and exits 1; nothing
# is committed before sync, prune and verify have all passed, and nothing is pushed after a failure.
# Knobs for tests: PUSH_ATTEMPTS (default 5), PUSH_RETRY_DELAY seconds (default 5, multiplied by the attempt).
set -euo pipefail
# The scripts run as `node --import tsx`, one process: a cancelled job's SIGTERM/SIGINT reaches the script
# itself, which finishes a started apply before it exits 130 (the tsx launcher SIGKILLs a child that does not
# acknowledge a relayed signal within 30 ms; test/signals.test.mts).

export GIT_AUTHOR_NAME="${GIT_AUTHOR_NAME:-github-actions[bot]}"
export GIT_AUTHOR_EMAIL="${GIT_AUTHOR_EMAIL:-41898283+github-actions[bot]@users.noreply.github.com}"
export GIT_COMMITTER_NAME="${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME}"
export GIT_COMMITTER_EMAIL="${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}"

WORK="${RUNNER_TEMP:?RUNNER_TEMP is not set}/ocsync"
mkdir -p "$WORK"

summary() { printf '%s\n' "$@" >>"${GITHUB_STEP_SUMMARY:-/dev/null}"; }
output() { printf '%s=%s\n' "$1" "$2" >>"${GITHUB_OUTPUT:-/dev/null}"; }
# summary_block TITLE FILE: the file's text as a fenced block (at most 60 lines).
summary_block() {
  [[ -s "$2" ]] || return 0
  [[ -z "$1" ]] || summary "$1"
  summary '```text' "$(head -n 60 "$2")" '```' ""
}
fail() {
  echo "::error title=${STEP:-sync-memory} failed::$1"
  summary "**Error (${STEP:-sync-memory}):** $1" ""
  exit 1
}
# first_error FILE PROGRAM: the sentence after "PROGRAM: error: " in FILE, if any.
first_error() {
  grep -m1 -F "$2: error: " "$1" | sed "s/^.*$2: error: //" || true
}

step_sync() {
  local out="$WORK/sync.txt" err="$WORK/sync.stderr" code=0
  local args=(--app "$FLY_APP" --state-dir "${REMOTE_STATE_DIR:-/data}" --memory "$MEMORY_DIR")
  [[ -n "${FLY_MACHINE:-}" ]] && args+=(--machine "$FLY_MACHINE")
  node --import tsx scripts/sync-memory.mts "${args[@]}" >"$out" 2>"$err" || code=$?
  cat "$err" >&2
  cat "$out"
  summary "### Sync of \`$MEMORY_DIR\` from $FLY_APP${FLY_MACHINE:+ (machine $FLY_MACHINE)}" ""
  if ((code != 0)); then
    local sentence
    sentence="$(first_error "$err" sync-memory)"
    summary_block "Sync summary:" "$out"
    fail "${sentence:-sync-memory exited with status $code}; memory was left unchanged and nothing was committed"
  fi
  summary_block "" "$out"
  if grep -q '^warning: ' "$err"; then
    summary "Warnings:" ""
    grep '^warning: ' "$err" | head -n 20 | sed 's/^warning: /- /' >>"${GITHUB_STEP_SUMMARY:-/dev/null}"
    summary ""
  fi
}

step_prune() {
  local out="$WORK/prune.txt" err="$WORK/prune.stderr" code=0
  node --import tsx scripts/prune.mts --memory "$MEMORY_DIR" --older-than "${PRUNE_OLDER_THAN:-30d}" >"$out" 2>"$err" || code=$?
  cat "$err" >&2
  cat "$out"
  if ((code != 0)); then
    local sentence
    sentence="$(first_error "$err" prune)"
    fail "${sentence:-prune exited with status $code}; nothing was committed"
  fi
  summary_block "Prune (sessions idle for more than ${PRUNE_OLDER_THAN:-30d}):" "$out"
}

step_verify() {
  local out="$WORK/verify.txt" code=0
  node --import tsx scripts/verify.mts "$MEMORY_DIR" >"$out" 2>&1 || code=$?
  cat "$out"
  if ((code != 0)); then
    summary_block "Verify found problems:" "$out"
    fail "verify found problems in $MEMORY_DIR (listed above); nothing was committed"
  fi
}

step_commit() {
  git add -A -- "$MEMORY_DIR"
  if git diff --cached --quiet -- "$MEMORY_DIR"; then
    echo "No changes in $MEMORY_DIR: nothing to commit."
    summary "No changes in \`$MEMORY_DIR\`: nothing committed." ""
    output committed false
    return 0
  fi
  local others
  others="$(git diff --cached --name-only -- . ":(exclude)$MEMORY_DIR")"
  [[ -z "$others" ]] || fail "files outside $MEMORY_DIR are staged ($others); refusing to commit them"
  local subject="sync: memory $(date -u +%F)" message="$WORK/commit-message.txt"
  [[ "$MEMORY_DIR" == memory ]] || subject+=" (${MEMORY_DIR#memory/})"
  {
    printf '%s\n\n' "$subject"
    cat "$WORK/sync.txt" 2>/dev/null || true
    if [[ -s "$WORK/prune.txt" ]] && ! grep -qi 'nothing to prune' "$WORK/prune.txt"; then
      printf '\n'
      cat "$WORK/prune.txt"
    fi
    if [[ -n "${GITHUB_RUN_ID:-}" && -n "${GITHUB_REPOSITORY:-}" ]]; then
      printf '\nRun: %s/%s/actions/runs/%s\n' "${GITHUB_SERVER_URL:-https://github.com}" "$GITHUB_REPOSITORY" "$GITHUB_RUN_ID"
    fi
  } >"$message"
  git commit --quiet --no-verify --file "$message"
  git show --stat --format='%h %s' HEAD | cat
  summary "Committed \`$(git rev-parse --short HEAD)\` $subject:" '```text' "$(git show --stat --format= HEAD | tail -n 20)" '```' ""
  output committed true
}

step_push() {
  local branch="${GITHUB_REF_NAME:?GITHUB_REF_NAME is not set}"
  if git rev-parse --verify --quiet "refs/remotes/origin/$branch" >/dev/null &&
    [[ "$(git rev-list --count "origin/$branch..HEAD")" == 0 ]]; then
    echo "Nothing to push."
    output pushed false
    return 0
  fi
  local attempts="${PUSH_ATTEMPTS:-5}" delay="${PUSH_RETRY_DELAY:-5}" attempt
  local err="$WORK/push.stderr"
  for ((attempt = 1; ; attempt++)); do
    if git push origin "HEAD:refs/heads/$branch" 2>"$err"; then
      cat "$err" >&2
      summary "Pushed to \`$branch\`$( ((attempt > 1)) && echo " after $((attempt - 1)) rebase(s)")." ""
      output pushed true
      return 0
    fi
    cat "$err" >&2
    # Refused by a rule or a permission, not because origin moved on: rebasing would not help.
    if grep -Eqi 'protected branch|GH006|GH013|repository rule|permission to .* denied|403|write access .* not granted' "$err"; then
      fail "the push to $branch was refused by GitHub (a branch protection rule or ruleset, or the token's permissions: $(grep -m1 -Ei 'protected|GH0|rule|denied|403|not granted' "$err" | sed 's/^remote: *//; s/[[:space:]]*$//')); allow GitHub Actions to push there (README: \"What the workflow needs from GitHub\"); the commit was not pushed"
    fi
    ((attempt < attempts)) || fail "the push to $branch was rejected $attempts times; the commit was not pushed"
    echo "The push was rejected (attempt $attempt of $attempts): rebasing onto origin/$branch and retrying."
    sleep $((attempt * delay))
    if ! git pull --rebase --quiet origin "$branch"; then
      git rebase --abort >/dev/null 2>&1 || true
      fail "could not rebase onto origin/$branch (someone changed the same files in $MEMORY_DIR); nothing was pushed"
    fi
  done
}

step_failed() {
  echo "::error::The backup of $MEMORY_DIR failed; nothing was pushed. See the step that failed above."
  summary "**The backup of \`$MEMORY_DIR\` failed; nothing was pushed.**" ""
}

STEP="${1:-}"
case "$STEP" in
  sync | prune | verify | commit | push)
    [[ -n "${MEMORY_DIR:-}" ]] || fail "MEMORY_DIR is not set: the config job gives every sync job its target"
    "step_$STEP"
    ;;
  failed)
    MEMORY_DIR="${MEMORY_DIR:-memory}"
    step_failed
    ;;
  *)
    echo "usage: bash scripts/ci/step.sh sync|prune|verify|commit|push|failed" >&2
    exit 2
    ;;
esac
