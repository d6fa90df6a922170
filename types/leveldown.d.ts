// Just enough of leveldown 6 to patch its iterator (see lib/compat.ts) and
// hold a database open as a datadir lock (lib/node/datadir.ts).
declare module 'leveldown' {
  namespace leveldown {
    interface LevelDOWN {
      iterator(options?: Record<string, unknown>): unknown;
      open(options: { createIfMissing?: boolean }, callback: (err: Error | null) => void): void;
      close(callback: (err: Error | null) => void): void;
    }
  }
  function leveldown(location: string): leveldown.LevelDOWN;
  export = leveldown;
}
