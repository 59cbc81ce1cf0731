// Several remote programs in one connection: a daily sync's read-only questions (discovery, the listing, the
// workspace look-up) asked in one call instead of one call each. On Fly every call costs seconds of tunnel and
// certificate set-up, over OpenSSH a handshake (about 7 KiB); an idle day is then one connection (issue 15).
//
// The bundle is a POSIX sh script sent on stdin (`sh -s`). Each shell program's source becomes the body of a
// function, run in a subshell with its arguments (`exit` ends only that part) and stdin from /dev/null (stdin is
// the rest of the bundle); a Node program (the SQLite exporter) runs with its source in a quoted here-document.
// What the bot sends back, as the parts write it (not compressed as a whole, so that the idle timeout measures
// silence; what is large is compressed by its own program):
//     ocsync-bundle <nonce> plain\n
//     ( ocsync-part <nonce> <i>\n <the part's stdout> \nocsync-part-end <nonce> <i> <exit status>\n )*
//     ocsync-parts-done <nonce>\n
// The nonce is random per call, so no output of a part can end it early; anything before the first line
// (a notice of the transport) is ignored. An answer is only used when it is complete and its part exited 0:
// anything else is asked again with a call of its own, which explains its failure as it always did.
import { randomBytes } from "node:crypto";
import { shellQuote } from "../proc.mts";
import type { RemoteProgram } from "./transport.mts";

export interface RemoteCall {
  program: RemoteProgram;
  args: string[];
}

/** The key an answer is kept under: the same program with the same arguments gets the same answer. */
export function callKey(call: RemoteCall): string {
  return JSON.stringify([call.program, call.args]);
}

/**
 * The bundle script for `calls` (`sources`: each program's source, as sent on its own; `argvOf`: how a program
 * runs on its own, which the Node ones keep) and its nonce.
 */
export function bundleScript(
  calls: RemoteCall[],
  sources: Map<RemoteProgram, Buffer>,
  argvOf: (program: RemoteProgram, args: string[]) => string[],
): { script: Buffer; nonce: string } {
  const nonce = randomBytes(12).toString("hex");
  const functions: string[] = [];
  const body: string[] = [];
  const defined = new Map<RemoteProgram, string>();
  for (const [i, call] of calls.entries()) {
    const source = sources.get(call.program)!.toString("utf8").replace(/\n?$/, "\n");
    body.push(`printf 'ocsync-part %s ${i}\\n' "$ocsync_nonce"`);
    if (call.program.endsWith(".mjs")) {
      const end = `OCSYNC_SOURCE_${nonce}`;
      const argv = argvOf(call.program, call.args).map(shellQuote).join(" ");
      body.push(`(${argv} <<'${end}'\n${source}${end}\n)`);
    } else {
      const args = call.args.map(shellQuote).join(" ");
      let name = defined.get(call.program);
      if (!name) {
        name = `ocsync_program_${defined.size}`;
        defined.set(call.program, name);
        functions.push(`${name}() {\n${source}}`);
      }
      body.push(`(${name} ${args}) </dev/null`);
    }
    body.push(`printf '\\nocsync-part-end %s ${i} %s\\n' "$ocsync_nonce" "$?"`);
  }
  body.push(`printf 'ocsync-parts-done %s\\n' "$ocsync_nonce"`);
  const script = [
    `ocsync_nonce=${nonce}`,
    ...functions,
    // Not compressed as a whole: the answers arrive as each part writes them, so the idle timeout measures
    // silence, not the bundle's length (a hashing listing of a big bot trickles for minutes). What is large is
    // compressed by its own program (the quick listing, the index, the exporter's data).
    `printf 'ocsync-bundle %s plain\\n' "$ocsync_nonce"`,
    ...body,
    "",
  ].join("\n");
  return { script: Buffer.from(script), nonce };
}

/**
 * Each call's answer (its stdout) from a bundle's output, for the parts that exited 0. Undefined when the output
 * is not a complete bundle (cut short, corrupt): then nothing of it is used.
 */
export function parseBundle(
  output: Buffer,
  nonce: string,
  calls: RemoteCall[],
): Map<string, Buffer> | undefined {
  const head = Buffer.from(`ocsync-bundle ${nonce} `);
  const at = output.indexOf(head);
  if (at < 0) return undefined;
  const lineEnd = output.indexOf(0x0a, at);
  if (lineEnd < 0) return undefined;
  if (output.subarray(at + head.length, lineEnd).toString("latin1") !== "plain") return undefined;
  const body = output.subarray(lineEnd + 1);
  const answers = new Map<string, Buffer>();
  let position = 0;
  for (const [i, call] of calls.entries()) {
    const start = Buffer.from(`ocsync-part ${nonce} ${i}\n`);
    if (!body.subarray(position, position + start.length).equals(start)) return undefined;
    const from = position + start.length;
    const endMark = Buffer.from(`\nocsync-part-end ${nonce} ${i} `);
    const to = body.indexOf(endMark, from);
    if (to < 0) return undefined;
    const statusEnd = body.indexOf(0x0a, to + endMark.length);
    if (statusEnd < 0) return undefined;
    const status = body.subarray(to + endMark.length, statusEnd).toString("latin1");
    if (status === "0") answers.set(callKey(call), body.subarray(from, to));
    position = statusEnd + 1;
  }
  const done = Buffer.from(`ocsync-parts-done ${nonce}\n`);
  if (!body.subarray(position).equals(done)) return undefined;
  return answers;
}
