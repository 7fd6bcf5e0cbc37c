/**
 * The part of @nxtedition/rocksdb 12.2.12 (an abstract-level 1 store) that raftq
 * uses; the package ships no types. Keys and values are Buffers throughout.
 */
declare module "@nxtedition/rocksdb" {
  export interface RangeOptions {
    gt?: Buffer;
    gte?: Buffer;
    lt?: Buffer;
    lte?: Buffer;
    reverse?: boolean;
    limit?: number;
  }

  export interface BatchOp {
    type: "put" | "del";
    key: Buffer;
    value?: Buffer;
  }

  export interface RocksIterator {
    /** Up to `size` [key, value] pairs; an empty array at the end. */
    nextv(size: number): Promise<Array<[Buffer, Buffer]>>;
    close(): Promise<void>;
  }

  export class RocksLevel {
    constructor(location: string, options?: { keyEncoding?: "buffer"; valueEncoding?: "buffer" });
    readonly status: "opening" | "open" | "closing" | "closed";
    readonly location: string;
    open(options?: { createIfMissing?: boolean; errorIfExists?: boolean }): Promise<void>;
    close(): Promise<void>;
    /** Rejects with code LEVEL_NOT_FOUND when the key is absent. */
    get(key: Buffer): Promise<Buffer>;
    getMany(keys: Buffer[]): Promise<Array<Buffer | undefined>>;
    put(key: Buffer, value: Buffer, options?: { sync?: boolean }): Promise<void>;
    del(key: Buffer, options?: { sync?: boolean }): Promise<void>;
    /** Runs on the calling thread; with sync: true it fdatasyncs the WAL before returning. */
    batch(ops: BatchOp[], options?: { sync?: boolean }): Promise<void>;
    /** Without `limit` this is a RocksDB DeleteRange (unsynced, not part of any batch). */
    clear(options: RangeOptions): Promise<void>;
    iterator(options?: RangeOptions & { keys?: boolean; values?: boolean }): RocksIterator;
  }
}
