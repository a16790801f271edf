/**
 * The disk-full alarm (HARDENING.md §7, targets D2–D3): when a write fails because the disk (or
 * PostgreSQL's) is full, nothing that was not committed is acknowledged (the ingest already
 * answers only after its commit), the failure is logged once as an alarm and shown in
 * `/metrics`, and devices are refused cleanly (CONNACK 3, which the SDKs retry) instead of
 * being let in to fail. A probe then tries a small real write every second; the first that
 * succeeds, with room on the data folder's file system, clears the alarm, so ingestion comes
 * back by itself within about a second of space being freed.
 */
import { statfs } from 'node:fs/promises';

import type { Logger } from 'pino';

import type { Metrics } from '../metrics.js';

/** Free space the data folder needs before the alarm clears (SQLite), so it does not flap. */
export const STORAGE_HEADROOM_BYTES = 1024 * 1024;
export const STORAGE_PROBE_MS = 1000;

/** Whether `err` says the storage is full: SQLite, the file system, or PostgreSQL (class 53100). */
export function isStorageFull(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const o = e as { code?: unknown; errno?: unknown; message?: unknown; cause?: unknown };
    if (o.code === 'SQLITE_FULL' || o.code === 'ENOSPC' || o.code === '53100') return true;
    if (
      typeof o.code === 'string' &&
      o.code.startsWith('SQLITE_IOERR') &&
      /disk|space/i.test(String(o.message))
    )
      return true;
    e = o.cause;
  }
  return false;
}

export interface StorageAlarmOptions {
  logger: Logger;
  metrics?: Metrics;
  /** A small real write (a settings row): resolves when the store can write again. */
  probe: () => Promise<void>;
  /** The SQLite data folder, whose free space must exceed the headroom; absent for PostgreSQL. */
  dataDir?: string;
  probeMs?: number;
  headroomBytes?: number;
}

export class StorageAlarm {
  private fullSince: Date | undefined;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private readonly gauge;
  private readonly failures;

  constructor(private readonly options: StorageAlarmOptions) {
    this.gauge = options.metrics?.gauge(
      'gatehouse_storage_full',
      '1 while writes fail because the storage is full',
    );
    this.failures = options.metrics?.counter(
      'gatehouse_storage_full_failures_total',
      'Writes that failed because the storage was full',
    );
    this.gauge?.set({}, 0);
  }

  /** True while the storage is full: devices are refused until a probe write succeeds. */
  get full(): boolean {
    return this.fullSince !== undefined;
  }

  /**
   * Called with every failed store write; returns whether it was the storage being full (then
   * the alarm is raised, once, and probing starts).
   */
  noteFailure(err: unknown): boolean {
    if (!isStorageFull(err)) return false;
    this.failures?.inc();
    if (this.fullSince) return true;
    this.fullSince = new Date();
    this.gauge?.set({}, 1);
    this.options.logger.error(
      { err, alarm: 'storage-full', dataDir: this.options.dataDir },
      'ALARM storage is full: writes fail, nothing uncommitted is acknowledged, devices are refused until space is freed',
    );
    this.timer = setInterval(() => void this.check(), this.options.probeMs ?? STORAGE_PROBE_MS);
    this.timer.unref();
    return true;
  }

  private async check(): Promise<void> {
    if (this.probing || !this.fullSince) return;
    this.probing = true;
    try {
      if (this.options.dataDir) {
        const fs = await statfs(this.options.dataDir);
        if (fs.bavail * fs.bsize < (this.options.headroomBytes ?? STORAGE_HEADROOM_BYTES)) return;
      }
      await this.options.probe();
      const seconds = Math.round((Date.now() - this.fullSince.getTime()) / 100) / 10;
      this.clear();
      this.options.logger.warn(
        { alarm: 'storage-full', seconds },
        'storage has room again: writes and devices resume',
      );
    } catch (err) {
      if (!isStorageFull(err)) this.options.logger.warn({ err }, 'storage probe failed');
    } finally {
      this.probing = false;
    }
  }

  private clear(): void {
    this.fullSince = undefined;
    this.gauge?.set({}, 0);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
