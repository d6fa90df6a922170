// Just enough of leveldown 6 to patch its iterator (see lib/compat.ts).
declare module 'leveldown' {
  interface LevelDOWN {
    iterator(options?: Record<string, unknown>): unknown;
  }
  function leveldown(location: string): LevelDOWN;
  export = leveldown;
}
