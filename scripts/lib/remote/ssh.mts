// The ssh transport: plain OpenSSH (`ssh -T`, batch mode, keep-alives) to a host that holds the state dir. The
// remote command line is quoted for the login shell; ssh's exit 255 is turned into a sentence.
import { Failure } from "../cli.mts";
import { shellQuote } from "../proc.mts";
import { lastLine, Transport, type Diagnosis, type ProcessOutcome } from "./transport.mts";

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
}

/** Parses `[user@]host[:port]` (IPv6 as `[::1]:2222`). */
export function parseSshTarget(text: string): SshTarget {
  const match = /^(?:([^@\s]+)@)?(\[[0-9a-fA-F:]+\]|[^:@\s[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw new Failure(`--ssh ${JSON.stringify(text)} is not of the form [user@]host[:port]`, 2);
  const port = match[3] ? Number(match[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535))
    throw new Failure(`--ssh port ${port} is out of range`, 2);
  return { user: match[1], host: match[2].replace(/^\[|\]$/g, ""), port };
}

export class SshTransport extends Transport {
  readonly kind = "ssh" as const;
  constructor(
    readonly target: SshTarget,
    readonly extraOptions: string[] = [],
  ) {
    super();
  }
  describe(): string {
    const { user, host, port } = this.target;
    return `${user ? `${user}@` : ""}${host}${port ? `:${port}` : ""} over ssh`;
  }
  protected command(remoteArgv: string[]) {
    const { user, host, port } = this.target;
    const args = [
      "-T",
      "-o",
      "BatchMode=yes",
      "-o",
      "ConnectTimeout=20",
      "-o",
      "ServerAliveInterval=15",
      "-o",
      "ServerAliveCountMax=4",
      ...this.extraOptions,
    ];
    if (port) args.push("-p", String(port));
    if (user) args.push("-l", user);
    args.push("--", host, remoteArgv.map(shellQuote).join(" "));
    return { file: process.env.OCSYNC_SSH ?? "ssh", args };
  }
  protected diagnose(outcome: ProcessOutcome): Diagnosis | undefined {
    if (outcome.code !== 255) return undefined;
    const text = lastLine(outcome.stderr);
    if (/permission denied|host key verification failed|no such identity/i.test(outcome.stderr)) {
      return {
        message: `ssh to ${this.target.host} was refused (${text}); check the user, the key and known_hosts`,
        transient: false,
      };
    }
    if (/could not resolve hostname/i.test(outcome.stderr)) {
      return { message: `ssh could not find host ${this.target.host} (${text})`, transient: false };
    }
    return {
      message: `could not reach ${this.describe()} (${text || "connection failed"}); check that the host is up and try again`,
      transient: /refused|timed out|reset|no route|unreachable|closed|broken pipe/i.test(outcome.stderr),
    };
  }
}
