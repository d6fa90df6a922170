// Shutdown never waits forever: an extension whose close (or a chain hook)
// never finishes is given CLOSE_STEP_MS, logged, and the node closes the
// rest, so SIGTERM stops a node whose work is stuck on the network.
import t from 'tap';
import type { ExtensionModule, NodeAPI } from '../lib/base/extension';
import { CLOSE_STEP_MS } from '../lib/node/cloudnode';
import { NodesContext } from './util/nodes-context';

let closedAfter = false;
const stuck: ExtensionModule = {
  id: 'stuck',
  init(_api: NodeAPI) {
    return { async open() {}, close: () => new Promise<void>(() => {}) };
  }
};
const after: ExtensionModule = {
  id: 'after',
  init(_api: NodeAPI) {
    return { async open() {}, async close() { closedAfter = true; } };
  }
};

t.test('a close that never finishes does not keep the node from closing', async (t) => {
  // Extensions close last first: `stuck` first, then `after` must still close.
  const ctx = await NodesContext.create([{ memory: true, extensions: [after, stuck] }]);
  await ctx.open();
  const node = ctx.nodes[0];
  const started = Date.now();
  await node.close();
  const took = Date.now() - started;
  t.ok(closedAfter, 'the other extension closed');
  t.ok(took >= CLOSE_STEP_MS, `waited the step's bound, then went on (${took} ms)`);
});
