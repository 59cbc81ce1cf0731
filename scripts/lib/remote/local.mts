// The local transport: the "remote" programs run on this machine (a state dir on a local disk, a mounted volume,
// the tests). Nothing to connect to, nothing to diagnose beyond the generic messages.
import { Transport, type Diagnosis } from "./transport.mts";

export class LocalTransport extends Transport {
  readonly kind = "local" as const;
  describe(): string {
    return "this machine";
  }
  protected command(remoteArgv: string[]) {
    return { file: remoteArgv[0] ?? "sh", args: remoteArgv.slice(1) };
  }
  protected diagnose(): Diagnosis | undefined {
    return undefined;
  }
}
