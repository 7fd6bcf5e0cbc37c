/**
 * A node's latest snapshot is a file of its own in `<data-dir>/snap/`, and
 * RocksDB holds only a pointer to it (name, size, CRC-32) in `m/snapshot`, as
 * etcd keeps `snap/*.snap` next to its WAL and hashicorp/raft has a file
 * snapshot store. Why not RocksDB: a snapshot is tens to hundreds of megabytes
 * with a deep queue, and as one synced RocksDB batch it was copied three times
 * (write batch, WAL, memtable) into fresh memory, then flushed and compacted
 * again later; a 42 MiB snapshot held the node's write pipeline for 0.74-1.03 s
 * where the disk needs 0.13 s. A file is written once, straight from the
 * bytes the state machine produced (shared memory, no copy).
 *
 * Durability: the bytes go to `<name>.tmp`, are fdatasync'd, renamed to
 * `<name>` and the directory is fsync'd; only then does the caller commit the
 * pointer in its synced RocksDB batch. A crash before that commit leaves a file
 * nobody points to, which `removeAllBut` deletes on the next open. Names carry
 * index, term and CRC, so a new file never replaces one a pointer names.
 *
 * `write` is asynchronous (libuv's thread pool, the CRC in 1 MiB steps): the
 * storage worker awaits it inside an ordered write, or runs it beside the
 * ordered writes to stage a snapshot, whose later write then only commits
 * the pointer (see RaftStorage.stageSnapshot).
 *
 * Deleting is asynchronous too: unlinking a 160 MiB file on ext4 frees its
 * extents on the calling thread, and a 1-entry append issued beside a staged
 * snapshot that replaced one waited 53-65 ms for it (now 2-8 ms:
 * `npx tsx bench/storage-lag.ts --snapshot-mib 160`, last line). A
 * dead file is renamed at once into `<dir>.trash/` (a metadata change, so the
 * decision of what is dead stays synchronous and its name is free again),
 * then unlinked there by the thread pool. The trash is emptied at open.
 */
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
} from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { StorageFatalError } from "./errors.js";

/** What `m/snapshot` records about a snapshot file. */
export interface SnapshotFileRef {
  /** File name inside the snapshot directory. */
  readonly file: string;
  readonly totalBytes: number;
  /** zlib CRC-32 of the whole file. */
  readonly crc32: number;
}

const SUFFIX = ".snap";
const TMP_SUFFIX = ".tmp";
/** Bytes per write(2) / read(2) call: a bound on each call, not a buffer (the data is written in place). */
const IO_STEP_BYTES = 8 * 1024 * 1024;
/**
 * A snapshot file is synced every this many bytes, so that no more is dirty in the page cache
 * at once: on ext4 (data=ordered) the journal commit behind any fsync on the file system (this
 * node's log writes, other nodes' on a shared disk) waits for the dirty data of a file being
 * synced. `npx tsx bench/storage-snapshot-fsync.ts` (160 MiB, a thread doing 300-byte synced
 * appends beside it): one sync at the end held those appends for up to 68-99 ms (p99 1.1-3.0
 * ms); every 32 MiB, up to 24-40 ms (p99 0.8-4.1 ms); every 8 MiB, up to 8-15 ms, but each of
 * the many syncs slowed them (p99 6.6-7.4 ms).
 */
const SYNC_STEP_BYTES = 32 * 1024 * 1024;
/** CRC steps while staging: the worker thread serves other requests between them. */
const STAGE_CRC_STEP_BYTES = 1024 * 1024;
/** A snapshot directory holds one live file, at most one being written and crash leftovers: far fewer than this. */
const MAX_LISTED_FILES = 10_000;
/** Next to the snapshot directory (same file system, so a rename moves a file there). */
export const TRASH_SUFFIX = ".trash";
/**
 * Most files being unlinked in the background at once. One dies per new snapshot, seconds
 * apart, so this is never reached unless unlinking hangs; past it, files are unlinked on the
 * calling thread again (slow, but bounded).
 */
const MAX_BACKGROUND_DELETIONS = 8;

export class SnapshotFiles {
  /** Where dead files wait for their unlink. */
  readonly trashDir: string;
  private readonly deletions = new Set<Promise<void>>();
  /** A background unlink failed: reported by the next removeAllBut (the disk is not to be trusted). */
  private deletionFailure: StorageFatalError | null = null;
  /** Makes trash names unique (the trash is emptied at open, so a counter suffices). */
  private trashed = 0;

  private constructor(readonly dir: string) {
    this.trashDir = dir + TRASH_SUFFIX;
  }

  /**
   * Creates the directory if needed (and makes its entry in the data dir durable), and empties
   * the trash of what a previous run had not finished deleting.
   */
  static open(dir: string): SnapshotFiles {
    const files = new SnapshotFiles(dir);
    try {
      mkdirSync(dir, { recursive: true });
      rmSync(files.trashDir, { recursive: true, force: true });
      mkdirSync(files.trashDir);
      syncDir(join(dir, ".."));
    } catch (err) {
      throw ioError(`cannot create the snapshot directory ${dir} and its trash`, err);
    }
    return files;
  }

  /**
   * Writes `data` durably under a fresh name and returns the pointer to
   * commit. The file is written by the thread pool and the CRC computed in
   * steps, so the calling thread is not held. `onName` learns the file's name
   * before anything is written, so that cleanup can spare it (and its `.tmp`)
   * until it is committed or abandoned.
   */
  async write(
    index: number,
    term: number,
    data: Uint8Array,
    onName: (file: string) => void,
  ): Promise<SnapshotFileRef> {
    let sum = 0;
    for (let at = 0; at < data.byteLength; at += STAGE_CRC_STEP_BYTES) {
      sum = crc32(data.subarray(at, Math.min(at + STAGE_CRC_STEP_BYTES, data.byteLength)), sum);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const file = fileName(index, term, sum);
    onName(file);
    const path = join(this.dir, file);
    const tmp = path + TMP_SUFFIX;
    try {
      const handle = await open(tmp, "w");
      try {
        for (let at = 0; at < data.byteLength;) {
          const length = Math.min(IO_STEP_BYTES, data.byteLength - at);
          const before = at;
          at += (await handle.write(data, at, length, at)).bytesWritten;
          if (Math.floor(at / SYNC_STEP_BYTES) > Math.floor(before / SYNC_STEP_BYTES))
            await handle.datasync();
        }
        await handle.datasync(); // the whole file durable (a no-op flush if the last step synced it)
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
      const dir = await open(this.dir, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      throw ioError(`cannot write snapshot file ${path}`, err);
    }
    return { file, totalBytes: data.byteLength, crc32: sum };
  }

  /** Reads a snapshot back into a fresh buffer (transferable) and verifies size and CRC. */
  read(ref: SnapshotFileRef): Uint8Array {
    const { fd, path } = this.openChecked(ref);
    const data = new Uint8Array(ref.totalBytes);
    try {
      for (let at = 0; at < data.byteLength;) {
        const n = readSync(fd, data, at, Math.min(IO_STEP_BYTES, data.byteLength - at), at);
        if (n === 0) checkSize(path, at, ref.totalBytes); // shrank while we read it
        at += n;
      }
    } catch (err) {
      if (err instanceof StorageFatalError) throw err;
      throw ioError(`cannot read snapshot file ${path}`, err);
    } finally {
      closeSync(fd);
    }
    const actual = crc32(data);
    if (actual !== ref.crc32) {
      throw new StorageFatalError(
        "checksum",
        `checksum mismatch in snapshot file ${path}: recorded crc32 ${hex(ref.crc32, 8)}, computed ${hex(actual, 8)} over ${data.byteLength} bytes`,
      );
    }
    return data;
  }

  /** Cheap check at open: the file exists and has its recorded size (read() verifies the CRC). */
  check(ref: SnapshotFileRef): void {
    closeSync(this.openChecked(ref).fd);
  }

  /**
   * Deletes every file but those in `keep` (and their `.tmp`): older
   * snapshots, and files a crash left (unfinished `.tmp`, or written but never
   * pointed to). Call only once the pointer to the live one is durable. When
   * this returns, the directory holds only the kept files; their bytes are
   * freed in the background (see settled()).
   */
  removeAllBut(keep: ReadonlySet<string>): void {
    if (this.deletionFailure !== null) throw this.deletionFailure;
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch (err) {
      throw ioError(`cannot list the snapshot directory ${this.dir}`, err);
    }
    if (names.length > MAX_LISTED_FILES) {
      throw new StorageFatalError(
        "corruption",
        `snapshot directory ${this.dir} holds ${names.length} files (at most ${MAX_LISTED_FILES} expected): not written by raftq?`,
      );
    }
    for (const name of names) {
      if (keep.has(name.endsWith(TMP_SUFFIX) ? name.slice(0, -TMP_SUFFIX.length) : name)) continue;
      this.delete(name);
    }
  }

  /** Every background deletion started so far has finished; rejects if one failed. */
  async settled(): Promise<void> {
    await Promise.all([...this.deletions]);
    if (this.deletionFailure !== null) throw this.deletionFailure;
  }

  private delete(name: string): void {
    const path = join(this.dir, name);
    if (this.deletions.size >= MAX_BACKGROUND_DELETIONS) {
      try {
        rmSync(path, { force: true, recursive: true });
      } catch (err) {
        throw ioError(`cannot delete old snapshot file ${path}`, err);
      }
      return;
    }
    const trashed = join(this.trashDir, `${this.trashed++}-${name}`);
    try {
      renameSync(path, trashed);
    } catch (err) {
      throw ioError(`cannot move old snapshot file ${path} to ${this.trashDir}`, err);
    }
    const deletion = rm(trashed, { force: true, recursive: true }).then(
      () => undefined,
      (err: unknown) => {
        this.deletionFailure ??= ioError(`cannot delete old snapshot file ${trashed}`, err);
      },
    );
    this.deletions.add(deletion);
    void deletion.finally(() => this.deletions.delete(deletion));
  }

  /** Opens the file `ref` names and checks its size; the caller closes `fd`. */
  private openChecked(ref: SnapshotFileRef): { fd: number; path: string } {
    const path = this.pathOf(ref);
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (err) {
      throw missing(path, err);
    }
    try {
      checkSize(path, fstatSync(fd).size, ref.totalBytes);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return { fd, path };
  }

  private pathOf(ref: SnapshotFileRef): string {
    // The name comes from our own record, but a damaged record must not point outside the directory.
    if (!/^[0-9a-f]{16}-[0-9a-f]{16}-[0-9a-f]{8}\.snap$/.test(ref.file)) {
      throw new StorageFatalError(
        "corruption",
        `m/snapshot names an invalid snapshot file ${JSON.stringify(ref.file)}`,
      );
    }
    return join(this.dir, ref.file);
  }
}

function fileName(index: number, term: number, crc: number): string {
  return `${hex(index, 16)}-${hex(term, 16)}-${hex(crc, 8)}${SUFFIX}`;
}

function syncDir(dir: string): void {
  const fd = openSync(dir, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function checkSize(path: string, size: number, expected: number): void {
  if (size !== expected) {
    throw new StorageFatalError(
      "corruption",
      `snapshot file ${path} is ${size} bytes, m/snapshot records ${expected}`,
    );
  }
}

function missing(path: string, err: unknown): StorageFatalError {
  return new StorageFatalError(
    "corruption",
    `snapshot file ${path} named by m/snapshot cannot be opened: ${err instanceof Error ? err.message : String(err)}`,
    { cause: err },
  );
}

function ioError(what: string, err: unknown): StorageFatalError {
  return new StorageFatalError("io", `${what}: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
  });
}

function hex(n: number, digits: number): string {
  return n.toString(16).padStart(digits, "0");
}
