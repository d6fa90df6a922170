// The JSON-RPC endpoint over raw HTTP, as curl or a bitcoind client sends
// it: batches, bad bodies, wrong users and huge bodies against a real
// cloudcoind process, with bitcoind's answers expected.
import t from 'tap';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { DaemonProcess } from './util/nodes-context';
import { MAX_RPC_BODY } from '../lib/node/rpcserver';
import { RPCClient } from '../lib/cli/rpcclient';
import { startResetServer } from './util/resetserver';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function request(port: number, opts: { method?: string; path?: string; auth?: string | null; body?: string | Buffer })
  : Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json' };
    if (opts.auth)
      headers.Authorization = opts.auth;
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'POST', path: opts.path ?? '/', headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            json = null;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/**
 * Send headers announcing `declared` bytes (or chunked when null), then
 * stream zeros until the server answers (or closes). Resolves with the
 * status line and how many body bytes the server let in by then.
 */
function flood(port: number, auth: string, declared: number | null, total: number)
  : Promise<{ statusLine: string; written: number }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let written = 0;
    let response = '';
    let finished = false;
    const finish = () => {
      if (finished)
        return;
      finished = true;
      sock.destroy();
      resolve({ statusLine: response.split('\r\n')[0], written });
    };
    sock.on('data', (d: Buffer) => {
      response += d.toString('latin1');
      if (response.includes('\r\n'))
        finish();
    });
    sock.on('close', finish);
    sock.on('error', finish);
    const length = declared === null ? 'Transfer-Encoding: chunked' : `Content-Length: ${declared}`;
    sock.write(`POST / HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth}\r\n${length}\r\n\r\n`);
    const block = Buffer.alloc(1 << 16);
    const pump = () => {
      while (!finished && written < total) {
        const chunk = declared === null
          ? Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')])
          : block;
        written += block.length;
        if (!sock.write(chunk)) {
          sock.once('drain', pump);
          return;
        }
      }
    };
    sock.once('connect', pump);
  });
}

t.test('JSON-RPC over HTTP', async (t) => {
  const d = await DaemonProcess.create();
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  await d.start();
  const cookie = fs.readFileSync(path.join(d.datadir, '.cookie'), 'utf8');
  const [user, password] = [cookie.slice(0, cookie.indexOf(':')), cookie.slice(cookie.indexOf(':') + 1)];
  t.equal(user, '__cookie__', 'the cookie names its user, as bitcoind\'s does');
  const auth = basic(user, password);
  const post = (body: string) => request(d.rpcPort, { auth, body });

  await t.test('should answer bodies as bitcoind does', async (t) => {
    const INVALID = -32600;
    // [name, body, HTTP status, the answer (error code per element, or the result)]
    const table: Array<[string, string, number, unknown]> = [
      ['one request', '{"method":"getblockcount","params":[],"id":7}', 200, { result: 0, error: null, id: 7 }],
      ['no params', '{"method":"getblockcount","id":"a"}', 200, { result: 0, error: null, id: 'a' }],
      ['null', 'null', 400, { code: INVALID }],
      ['a number', '42', 400, { code: INVALID }],
      ['a string', '"getblockcount"', 400, { code: INVALID }],
      ['an empty batch', '[]', 400, { code: INVALID }],
      ['method not a string', '{"method":5,"id":1}', 400, { code: INVALID }],
      ['params an object', '{"method":"getblockcount","params":{},"id":1}', 400, { code: INVALID }],
      ['unknown method', '{"method":"nosuchmethod","id":1}', 404, { code: -32601 }],
      ['not JSON', 'getblockcount', 500, { code: -32700 }],
      ['cut-off JSON', '{"method":"getblockcount"', 500, { code: -32700 }],
      ['an empty body', '', 500, { code: -32700 }],
      ['a batch with null', '[null]', 200, [{ code: INVALID }]],
      ['a mixed batch', '[{"method":"getblockcount","id":1},null,3,{"method":[]},{"method":"nosuchmethod","id":5}]', 200,
        [{ result: 0, id: 1 }, { code: INVALID }, { code: INVALID }, { code: INVALID }, { code: -32601, id: 5 }]]
    ];
    for (const [name, body, status, want] of table) {
      const r = await post(body);
      t.equal(r.status, status, `${name}: HTTP ${status}`);
      t.match(r.headers['content-type'], /application\/json/, `${name}: JSON`);
      const got = r.json as Record<string, unknown> | Array<Record<string, unknown>>;
      const shape = (a: Record<string, unknown>, w: Record<string, unknown>) => {
        if ('code' in w) {
          t.match(a, { result: null, error: { code: w.code, message: String } }, `${name}: error ${w.code}`);
          if ('id' in w)
            t.equal(a.id, w.id, `${name}: id kept`);
        } else {
          t.match(a, w, `${name}: result`);
        }
      };
      if (Array.isArray(want)) {
        t.ok(Array.isArray(got) && got.length === want.length, `${name}: one answer per element`);
        want.forEach((w, i) => shape((got as Array<Record<string, unknown>>)[i], w as Record<string, unknown>));
      } else {
        shape(got as Record<string, unknown>, want as Record<string, unknown>);
      }
      t.notMatch(r.text, /TypeError|Cannot read|at .*\.js/, `${name}: no JavaScript internals`);
    }
  });

  await t.test('should require the right user and password', async (t) => {
    const body = '{"method":"getblockcount","id":1}';
    const table: Array<[string, string | null, number]> = [
      ['right user and password', auth, 200],
      ['wrong user, right password', basic('cloudcoin', password), 401],
      ['empty user, right password', basic('', password), 401],
      ['right user, wrong password', basic(user, `${password}x`), 401],
      ['no password', basic(user, ''), 401],
      ['no header', null, 401],
      ['not Basic', `Bearer ${password}`, 401],
      ['not base64', 'Basic !!!', 401]
    ];
    for (const [name, a, status] of table) {
      const r = await request(d.rpcPort, { auth: a, body });
      t.equal(r.status, status, name);
      if (status === 401)
        t.match(r.headers['www-authenticate'], /^Basic realm=/, `${name}: asks for Basic auth`);
    }
    // bcoin's REST routes sit behind the same check.
    t.equal((await request(d.rpcPort, { method: 'GET', auth: basic('x', password) })).status, 401, 'REST: wrong user');
    t.equal((await request(d.rpcPort, { method: 'GET', auth })).status, 200, 'REST: right user');
  });

  await t.test('should refuse a huge body with 413 and stop reading it', async (t) => {
    const big = 100 << 20;
    const declared = await flood(d.rpcPort, auth, big, big);
    t.match(declared.statusLine, /^HTTP\/1\.1 413/, 'declared 100 MB: 413');
    t.ok(declared.written < big, `the server hung up after ${declared.written} of ${big} bytes`);
    const chunked = await flood(d.rpcPort, auth, null, big);
    t.match(chunked.statusLine, /^HTTP\/1\.1 413/, 'chunked 100 MB: 413 once past the limit');
    t.ok(chunked.written < big, `the server hung up after ${chunked.written} of ${big} bytes`);
    // Just under the limit is read and judged as JSON.
    const under = await post(`${' '.repeat(MAX_RPC_BODY - 64)}{"method":"getblockcount","id":1}`);
    t.equal(under.status, 200, 'a body under the limit is served');
    const r = await post('{"method":"getblockcount","id":1}');
    t.equal(r.status, 200, 'the node still answers');
  });
});

t.test('--rpcuser with --api-key', async (t) => {
  const d = await DaemonProcess.create();
  t.teardown(async () => {
    await d.stop('SIGKILL');
    d.cleanup();
  });
  fs.writeFileSync(path.join(d.base, 'cloudcoin.conf'), 'rpcuser=alice\napi-key=s3cret\n');
  await d.start();
  const body = '{"method":"getblockcount","id":1}';
  t.equal((await request(d.rpcPort, { auth: basic('alice', 's3cret'), body })).status, 200, 'alice');
  t.equal((await request(d.rpcPort, { auth: basic('cloudcoin', 's3cret'), body })).status, 401, 'the default user is not alice');
  t.equal((await request(d.rpcPort, { auth: basic('__cookie__', 's3cret'), body })).status, 401, 'no cookie user');
  const cli = await d.cli(['getblockcount'], ['--rpcuser', 'alice', '--api-key', 's3cret']);
  t.equal(cli.stdout, '0\n', cli.stderr);
  // Like bitcoin-cli, the CLI reads rpcuser from cloudcoin.conf: a flag overrides it.
  t.equal((await d.cli(['getblockcount'], ['--api-key', 's3cret'])).stdout, '0\n', 'the user from cloudcoin.conf');
  const wrong = await d.cli(['getblockcount'], ['--rpcuser', 'cloudcoin', '--api-key', 's3cret']);
  t.equal(wrong.code, 1, 'the CLI with the wrong user fails');
  t.match(wrong.stderr, /authorization failed/);
});

t.test('RPCClient on a kept-alive socket the server drops as idle', async (t) => {
  // Each connection answers its first request and resets on the next: the
  // client's second call reuses the socket and meets the reset, as when the
  // server's idle timeout races a reuse. It is sent again on a new socket.
  const server = await startResetServer('{"result":7,"error":null,"id":1}');
  t.teardown(() => server.close());
  const client = new RPCClient({ host: '127.0.0.1', port: server.port, user: 'u', apiKey: 'p' });
  t.equal(await client.call('getblockcount'), 7);
  t.equal(await client.call('getblockcount'), 7, 'sent again on a fresh socket');
  t.equal(server.connections(), 2, 'over a second connection');
});
