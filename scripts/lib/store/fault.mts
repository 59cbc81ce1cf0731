// Fault injection, for tests only: OPENCLAW_SYNC_FAULT makes a run die or pause at a numbered step of its
// writing path (staging, journal, each rename, the commit point, clean-up, recovery), deterministically.
//
//   OPENCLAW_SYNC_FAULT=kill-after:N          SIGKILL this process right after step N
//   OPENCLAW_SYNC_FAULT=pause-after:N:FILE    after step N, write "PID step-name" to FILE and wait 3 s
//                                             (a test sends a signal meanwhile; signals are handled)
//   OPENCLAW_SYNC_FAULT=pause-at:TEXT:FILE    the same at the first step whose name starts with TEXT
//                                             (e.g. "renamed into": half-way through the apply)
//
// A run that has fewer than N steps is not affected, so a test loops N = 1, 2, ... until a run completes.
// Never set it outside tests.
import { writeFileSync, writeSync } from "node:fs";

let steps = 0;
const spec = /^(kill|pause)-(after|at):([^:]+)(?::(.+))?$/.exec(process.env.OPENCLAW_SYNC_FAULT ?? "");

/** Marks the end of one step of the writing path. */
export async function faultPoint(label: string): Promise<void> {
  if (!spec) return;
  steps++;
  const [, action, how, where, file] = spec;
  if (how === "after" ? steps !== Number(where) : !label.startsWith(where)) return;
  if (how === "at") spec[3] = "\0"; // only the first match
  if (action === "kill") {
    writeSync(2, `fault injection: SIGKILL after step ${steps} (${label})\n`);
    process.kill(process.pid, "SIGKILL");
  } else if (file) {
    writeFileSync(file, `${process.pid} ${label}\n`);
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
  }
}

const PAUSE_MS = 3000;
