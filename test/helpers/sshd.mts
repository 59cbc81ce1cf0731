// A real OpenSSH server on 127.0.0.1 with throwaway keys, for the ssh transport's tests.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { waitForPort } from "./ports.mts";

export interface Sshd {
  port: number;
  /** The client's `-o` options (key, known_hosts) as `--ssh-option` values. */
  clientOptions: string[];
  /** Sessions the server has accepted so far (its log's "Accepted publickey" lines). */
  accepted(): number;
  stop(): void;
}

/** Starts sshd on a random loopback port with keys and config in `dir`; `path`: the sessions' PATH. */
export async function startSshd(dir: string, options: { path?: string } = {}): Promise<Sshd> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  mkdirSync(dir, { recursive: true });
  for (const name of ["host_key", "client_key"]) {
    const made = spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(dir, name)]);
    if (made.status !== 0) throw new Error(`ssh-keygen: ${made.stderr}`);
  }
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "client_key.pub")));
  writeFileSync(
    join(dir, "sshd_config"),
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${join(dir, "host_key")}`,
      `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
      `PidFile ${join(dir, "sshd.pid")}`,
      "PermitRootLogin prohibit-password",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "StrictModes no",
      "UsePAM no",
      ...(options.path ? [`SetEnv PATH=${options.path}`] : []),
    ].join("\n") + "\n",
  );
  mkdirSync("/run/sshd", { recursive: true });
  const binary = ["/usr/sbin/sshd", "/usr/bin/sshd"].find(existsSync);
  if (!binary)
    throw new Error("sshd is not installed (scripts/dev/test-tools.mts installs Debian's openssh-server)");
  const sshd: ChildProcess = spawn(binary, ["-D", "-e", "-f", join(dir, "sshd_config")], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  sshd.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
  await waitForPort(port, 10_000, "sshd").catch((error: Error) => {
    sshd.kill();
    throw new Error(`${error.message}: ${log}`);
  });
  return {
    port,
    clientOptions: [
      `IdentityFile=${join(dir, "client_key")}`,
      "StrictHostKeyChecking=no",
      `UserKnownHostsFile=${join(dir, "known_hosts")}`,
      "IdentitiesOnly=yes",
    ],
    accepted: () => log.split("\n").filter((line) => line.includes("Accepted publickey")).length,
    stop: () => sshd.kill(),
  };
}
