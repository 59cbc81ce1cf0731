#!/usr/bin/env node
// A fake `flyctl` that behaves as the real one does for the commands sync uses, for tests (no Fly account
// exists here). It runs the "remote" command on this machine. Configured by the JSON file in $FAKE_FLY_CONFIG:
//   { "version": "0.4.87",
//     "loggedIn": false,                      // else a token must be in FLY_API_TOKEN / FLY_ACCESS_TOKEN
//     "tokens": { "<token>": { "kind": "ssh"|"readonly"|"deploy"|"org", "app": "<app>" } },
//                                             // optional: what each token may do (below); unset: anything
//     "apps": { "<app>": { "machines": [ { "id", "name", "state", "region", "config": { "mounts": [ { "path" } ] } } ] } },
//     "faults": { "connectFailures": N,       // the first N ssh calls fail to connect (counted in "counterFile")
//                 "truncateTailBytes": N,     // old flyctl: drop the last N bytes of remote stdout, still exit 0
//                 "dropAfterBytes": N,        // the session dies after N bytes: exit 1, "session forcibly closed"
//                 "hang": true,               // connect, then never send anything
//                 "flipByteAt": N,            // a bit flips in byte N of remote stdout (a corrupting link)
//                 "stdoutNotice": "text",     // extra line flyctl prints on stdout (e.g. an update notice)
//                 "match": "text" },          // data faults only for calls whose -C command contains this
//     "counterFile": "/path", "log": "/path",    // state between calls; argv of every call, one JSON per line
//     "stdinLog": "/path" }                   // what ssh call N (its line in "log", from 0) sent on stdin: /path.N
// Behaviours reproduced: -C is split into argv (quotes honoured) and exec'd without a shell; "No machine
// specified, using ..." goes to stdout when several machines are started and --machine is missing; a PTY is
// forced (with a warning on stdout and \n → \r\n) when the command is exactly sh/bash; stdin is forwarded then
// closed; any remote failure exits 1 with "Error: ssh shell: Process exited with status N" on stderr.
// Tokens, as flyctl's source makes them (internal/command/tokens/create.go): an `ssh` token is an app deploy token
// pared down to read access on its app (so it lists machines: `fly ssh console` itself does, before connecting)
// plus the issueCertificate and addWireGuardPeer mutations; it cannot start machines. A `readonly` token reads
// (lists machines) but cannot issue the ssh certificate. `deploy` may do both and start machines, for its app;
// `org` for every app. A token for another app is refused.
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";

const config = JSON.parse(readFileSync(process.env.FAKE_FLY_CONFIG ?? "", "utf8"));
const argv = process.argv.slice(2);
/** Environment of the remote process on top of ours: machines[].env (e.g. a PATH holding only BusyBox). */
let machineEnv;
// faults.match: the data faults apply only to ssh calls whose -C command contains this text.
const faults = { ...config.faults };
if (faults.match && !(option(["-C", "--command"]) ?? "").includes(faults.match)) {
  for (const key of ["truncateTailBytes", "dropAfterBytes", "stdoutNotice", "hang", "flipByteAt"])
    delete faults[key];
}
if (config.log) appendFileSync(config.log, `${JSON.stringify(argv)}\n`);

function fail(message, code = 1) {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(code);
}

function option(names) {
  for (let i = 0; i < argv.length; i++) {
    for (const name of names) {
      if (argv[i] === name) return argv[i + 1];
      if (argv[i].startsWith(`${name}=`)) return argv[i].slice(name.length + 1);
    }
  }
  return undefined;
}

/** Splits like a POSIX shell would split words (quotes and backslashes), with no expansion of any kind. */
function splitWords(text) {
  const words = [];
  let word = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) fail("invalid command: unterminated quote");
      word = (word ?? "") + text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      let part = "";
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === "\\" && j + 1 < text.length && '"\\$`'.includes(text[j + 1])) part += text[++j];
        else part += text[j];
      }
      if (j >= text.length) fail("invalid command: unterminated quote");
      word = (word ?? "") + part;
      i = j;
    } else if (c === "\\" && i + 1 < text.length) {
      word = (word ?? "") + text[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

function requireToken() {
  if (config.loggedIn) return;
  if (!process.env.FLY_API_TOKEN && !process.env.FLY_ACCESS_TOKEN) {
    fail("no access token available. Please login with 'flyctl auth login'");
  }
}

/** Whether the token in the environment may do `action` ("read", "ssh", "write") on app `name`. */
function authorize(action, name) {
  if (config.loggedIn || !config.tokens) return;
  const token = config.tokens[process.env.FLY_ACCESS_TOKEN || process.env.FLY_API_TOKEN];
  if (!token) fail("unauthorized");
  if (token.kind !== "org" && token.app !== name) fail(`failed to get app: Could not find App "${name}"`);
  const allowed = {
    ssh: ["read", "ssh"],
    readonly: ["read"],
    deploy: ["read", "ssh", "write"],
    org: ["read", "ssh", "write"],
  }[token.kind];
  if (allowed?.includes(action)) return;
  if (action === "ssh")
    fail(
      "create ssh certificate: Not authorized to access this issueCertificate (if you haven't created a key for your org yet, try `flyctl ssh issue`)",
    );
  fail("unauthorized");
}

function findApp() {
  const name = option(["-a", "--app"]) ?? process.env.FLY_APP;
  if (!name)
    fail(
      "the config for your app is missing an app name, add an app field to the fly.toml file or specify with the -a flag",
    );
  const app = config.apps?.[name];
  if (!app) fail(`failed to get app: Could not find App "${name}"`);
  return { name, app };
}

if (argv[0] === "version") {
  const version = config.version ?? "0.4.87";
  if (argv.includes("--json")) {
    process.stdout.write(
      `${JSON.stringify({ Version: version, Commit: "fake", BuildDate: "2026-08-20T00:00:00Z" })}\n`,
    );
  } else {
    process.stdout.write(`fly v${version} linux/amd64 Commit: fake BuildDate: 2026-08-20T00:00:00Z\n`);
  }
  process.exit(0);
}

if (
  (argv[0] === "machine" || argv[0] === "machines" || argv[0] === "m") &&
  (argv[1] === "list" || argv[1] === "ls")
) {
  requireToken();
  const { name: listed, app } = findApp();
  authorize("read", listed);
  if (!argv.includes("--json") && !argv.includes("-j")) fail("this fake only answers machine list --json");
  process.stdout.write(`${JSON.stringify(app.machines ?? [], null, 2)}\n`);
  process.exit(0);
}

if ((argv[0] === "machine" || argv[0] === "machines" || argv[0] === "m") && argv[1] === "start") {
  requireToken();
  const { name, app } = findApp();
  authorize("write", name);
  const machine = (app.machines ?? []).find((m) => m.id === argv[2]);
  if (!machine) fail(`could not get machine ${argv[2]}: machine not found`);
  machine.state = "started";
  writeFileSync(process.env.FAKE_FLY_CONFIG, JSON.stringify(config, null, 2));
  process.stdout.write(`${machine.id} has been started\n`);
  process.exit(0);
}

if (argv[0] === "ssh" && argv[1] === "console") {
  requireToken();
  const { name, app } = findApp();
  authorize("read", name); // flyctl lists the app's machines before it connects
  const command = option(["-C", "--command"]);
  if (!command) fail("this fake needs -C: interactive shells are not simulated");
  const requested = option(["--machine"]);
  const machines = app.machines ?? [];
  const started = machines.filter((m) => m.state === "started");
  let machine;
  if (requested) {
    machine = started.find((m) => m.id === requested);
    if (!machine) fail(`--machine="${requested}" not found/started`);
  } else {
    if (started.length === 0) fail(`app ${name} has no started VMs.`);
    machine = started[0];
    // Documented stdout pollution: flyctl picks a machine and says so on stdout.
    if (started.length > 1)
      process.stdout.write(`No machine specified, using ${machine.id} in region ${machine.region}\n`);
  }
  authorize("ssh", name);
  if (faults.connectFailures) {
    const counterFile = config.counterFile;
    const used = counterFile && existsSync(counterFile) ? Number(readFileSync(counterFile, "utf8")) : 0;
    if (used < faults.connectFailures) {
      if (counterFile) writeFileSync(counterFile, String(used + 1));
      process.stderr.write("Connecting to fdaa:0:1234::2...\n");
      fail("error connecting to SSH server: ssh: handshake failed: EOF");
    }
  }
  if (faults.stdoutNotice) process.stdout.write(`${faults.stdoutNotice}\n`);
  process.stderr.write(`Connecting to fdaa:0:1234::${machine.id.slice(0, 2)}... complete\n`);
  if (faults.hang) {
    setInterval(() => {}, 1 << 30);
  } else {
    machineEnv = machine.env;
    run(splitWords(command));
  }
} else if (argv[0] !== "ssh") {
  fail(`unknown command "${argv[0]}" for "flyctl" (fake)`);
}

function run(words) {
  const pty = words.length === 1 && ["sh", "/bin/sh", "bash", "/bin/bash"].includes(words[0]);
  if (pty) process.stdout.write("Warning: a PTY is being forced for this command\n");
  // machines[].env: the remote process's environment on top of ours (e.g. a PATH holding only BusyBox).
  const child = spawn(words[0], words.slice(1), {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...(machineEnv ?? {}) },
  });
  let sent = 0;
  let held = Buffer.alloc(0);
  let dropped = false;
  if (config.stdinLog && config.log) {
    // Named by the call's line in the log, so the test can pair them.
    const call = readFileSync(config.log, "utf8").split("\n").length - 2;
    writeFileSync(`${config.stdinLog}.${call}`, "");
    process.stdin.on("data", (chunk) => appendFileSync(`${config.stdinLog}.${call}`, chunk));
  }
  process.stdin.pipe(child.stdin);
  child.stdin.on("error", () => {});
  child.on("error", (error) => fail(`ssh shell: ${error.message}`));
  child.stderr.pipe(process.stderr);
  child.stdout.on("data", (chunk) => {
    if (dropped) return;
    let data = pty ? Buffer.from(chunk.toString("latin1").replace(/\n/g, "\r\n"), "latin1") : chunk;
    if (faults.dropAfterBytes !== undefined && sent + data.length > faults.dropAfterBytes) {
      data = data.subarray(0, Math.max(0, faults.dropAfterBytes - sent));
      process.stdout.write(data);
      dropped = true;
      child.kill("SIGKILL");
      process.stdout.once("drain", () => {});
      setTimeout(
        () => fail("ssh shell: session forcibly closed; the remote process may still be running"),
        50,
      );
      return;
    }
    if (faults.truncateTailBytes) {
      held = Buffer.concat([held, data]);
      const keep = held.length - faults.truncateTailBytes;
      if (keep > 0) {
        process.stdout.write(held.subarray(0, keep));
        sent += keep;
        held = held.subarray(keep);
      }
      return;
    }
    if (
      faults.flipByteAt !== undefined &&
      sent <= faults.flipByteAt &&
      faults.flipByteAt < sent + data.length
    ) {
      data = Buffer.from(data);
      data[faults.flipByteAt - sent] ^= 0x20;
    }
    sent += data.length;
    process.stdout.write(data);
  });
  child.on("close", (code, signal) => {
    if (dropped) return;
    // Old flyctl (before v0.4.80) could exit before copying the tail: the held bytes are simply lost.
    const status = code ?? 128 + (signal === "SIGKILL" ? 9 : 15);
    const finish = () => {
      if (status !== 0) fail(`ssh shell: Process exited with status ${status}`);
      process.exit(0);
    };
    if (process.stdout.writableLength) process.stdout.once("drain", finish);
    else finish();
  });
}
