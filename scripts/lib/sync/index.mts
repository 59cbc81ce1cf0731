// The pull, as its outline: open memory/ (the lock; an interrupted run is completed or rolled back) → connect →
// ask the day's foreseen questions in one call (prefetch) → discover → choose the era → stage (git check, staging
// folder) → plan the transfer → transfer into staging → reconcile (the era's) → check, trim and redact → the
// agent's workspace (its memory files, checked and redacted the same way) → record → plan the apply (with the
// provenance record) → apply, sessions and workspace in one journaled transaction. Each stage is a module of this
// folder with a typed input and output. Nothing is written into the memory folder before every check has passed;
// any failure leaves it exactly as it was.
import { connect } from "./connect.mts";
import { discover } from "./discover.mts";
import { prefetch } from "./prefetch.mts";
import { chooseEra } from "./choose-era.mts";
import { openMemory } from "./open-memory.mts";
import { fetcher } from "./fetch.mts";
import { planTransfer } from "./plan-transfer.mts";
import { transfer } from "./transfer.mts";
import { Failure, writeFailure } from "../cli.mts";
import { check, dropExcluded, notReadFiles, notReadWarnings } from "./check.mts";
import { record } from "./record.mts";
import { excludeStored } from "./exclude-stored.mts";
import { syncWorkspace } from "./workspace.mts";
import { loadSecretScanner } from "../secrets.mts";
import { planApply } from "./plan-apply.mts";
import { apply } from "./apply.mts";
import { interruptible } from "./interrupt.mts";
import { faultPoint } from "../store/fault.mts";
import type { SyncOptions, SyncSummary } from "./types.mts";

export { formatSummary } from "./report.mts";
export { TOOL, type FileChange, type SyncOptions, type SyncSummary } from "./types.mts";

export function sync(options: SyncOptions): Promise<SyncSummary> {
  return interruptible(options.memory, async () => {
    const started = Date.now();
    const { reporter } = options;
    const memory = await openMemory(options);
    const { memoryDir, sessionsDir } = memory;
    try {
      const { transport, source } = await connect(options);
      await prefetch(transport, memoryDir, options);
      const discovered = await discover(transport, options);
      const { agent, era, source: syncSource } = chooseEra(discovered, source, options);
      const stagingDir = await memory.stage();
      const fetch = fetcher(transport, era.program, stagingDir, options);
      const where = { stateDir: syncSource.stateDir, agentId: agent.id };
      const transferPlan = await planTransfer(era, where, memoryDir, fetch, options);
      const transferred = await transfer(transferPlan, era, fetch, {
        ...options,
        stagingDir,
        agentId: agent.id,
        sessionsDir,
        cleanBlobs: memory.cleanBlobs,
      });
      reporter.clearProgress();
      await faultPoint("transfer done");
      const reconciled = await era.reconcile(transferred.result, {
        agentId: agent.id,
        sessionsDir,
        at: syncSource.at,
        reporter,
      });
      if (reconciled.layout !== undefined) syncSource.layout = reconciled.layout;
      const { result, excluded } = await dropExcluded(reconciled.result, transferPlan, reporter);
      const notRead = notReadWarnings(transferred.result);
      // One scanner (the rules and memory/.secretsallow, read once) for the sessions and the workspace.
      const scanner = await loadSecretScanner(memoryDir);
      const checked = await check(
        result,
        {
          memoryDir,
          sessionsDir,
          provenance: transferPlan.provenance,
          agentId: agent.id,
          warnings: [...notRead, ...reconciled.warnings],
          notRead: notReadFiles(transferred.result),
          scanner: options.redact === false ? undefined : scanner,
        },
        options,
      );
      const workspace = await syncWorkspace(
        transport,
        {
          stateDir: syncSource.stateDir,
          agentId: agent.id,
          era: era.era,
          version: syncSource.openclawVersion,
          stagingDir,
          memoryDir,
          provenance: transferPlan.provenance,
          at: syncSource.at,
          scanner,
        },
        options,
      );
      const stored = await excludeStored(checked, transferPlan, {
        memoryDir,
        stagingDir,
        dryRun: options.dryRun,
      });
      const recorded = await record(checked, transferPlan.provenance, syncSource.at, {
        keys: excluded.keys,
        stored: stored?.plan,
        sessionsDir,
        dryRun: options.dryRun,
        consumed: result.consumed,
      });
      const applyPlan = planApply(checked, recorded, result, workspace, {
        source: syncSource,
        memoryDir,
        excluded,
        stored,
        incremental: transferred.incremental,
        dryRun: options.dryRun,
        provenance: transferPlan.provenance,
      });
      await apply(memoryDir, stagingDir, applyPlan);
      applyPlan.summary.durationMs = Date.now() - started;
      return applyPlan.summary;
    } finally {
      await memory.close();
    }
  })
    .finally(() => options.connection?.transport.cancelEarly())
    .catch((error: unknown) => {
      // A file operation that failed outside the checks (lock, staging, apply): one sentence, no stack.
      const errno = error as NodeJS.ErrnoException;
      if (!(error instanceof Failure) && typeof errno?.code === "string" && errno.syscall) {
        throw new Failure(
          `${writeFailure(error, errno.path ? errno.path : "the memory folder")}; nothing was changed`,
        );
      }
      throw error;
    });
}
