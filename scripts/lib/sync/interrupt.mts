// Ctrl-C or a CI cancellation: stop the remote calls, clean up, leave memory/ as it was. During the apply (a few
// renames) the signal waits, so memory/ is never left half-written.
import { Failure } from "../cli.mts";
import { stopRemoteCalls } from "../remote/transport.mts";

const interruption = { signal: undefined as NodeJS.Signals | undefined, applying: false };

function onSignal(signal: NodeJS.Signals): void {
  interruption.signal = signal;
  if (!interruption.applying) stopRemoteCalls();
}

/** Throws the "interrupted" Failure when a signal arrived. */
export function checkInterrupted(): void {
  if (interruption.signal)
    throw new Failure(`interrupted by ${interruption.signal}; nothing was changed`, 130);
}

/**
 * Runs `work` with SIGINT and SIGTERM turned into a clean stop; an interrupted run fails with exit 130. A signal
 * that arrived during the apply waited for it: `where` then holds the whole new state, and the run still fails.
 */
export async function interruptible<T>(where: string, work: () => Promise<T>): Promise<T> {
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let result: T;
  try {
    result = await work();
  } catch (error) {
    checkInterrupted();
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  if (interruption.signal) {
    throw new Failure(
      `interrupted by ${interruption.signal} while writing ${where}; the writing was finished first, so it holds this sync's complete result`,
      130,
    );
  }
  return result;
}

/** Runs the apply with signals held: they take effect after it. */
export async function uninterrupted<T>(work: () => Promise<T>): Promise<T> {
  checkInterrupted();
  interruption.applying = true;
  try {
    return await work();
  } finally {
    interruption.applying = false;
  }
}
