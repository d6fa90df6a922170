<?php
/*
 * index.php - the CloudCoin file server for ordinary PHP web hosting: the
 * front controller of the same data and admin API as the Node server
 * (docs/FILESERVER.md), over the same data folder layout. PHP 8.2 core
 * only (hash, json); no Composer packages, no daemon, no timer: expired
 * contracts are purged when the negotiator calls POST /admin/purge.
 *
 * Apache routes every request here through .htaccess; `php -S` uses this
 * file as its router. Settings are in config.php (docs/HOSTING.md).
 */

declare(strict_types=1);

require __DIR__ . '/lib/errors.php';
require __DIR__ . '/lib/tree.php';
require __DIR__ . '/lib/store.php';
require __DIR__ . '/lib/auth.php';
require __DIR__ . '/lib/settings.php';

const CC_VERSION = '0.1.0';
const CC_MAX_ADMIN_BODY = 64 << 10;
const CC_MAX_RESPONSE = 8 << 20;

// Never a PHP warning page: every warning becomes an exception (unless
// silenced with @, then error_get_last() carries it to cc_io_error), and
// every failure is answered as JSON.
ini_set('display_errors', '0');
ini_set('html_errors', '0');
set_error_handler(function (int $no, string $msg, string $file, int $line): bool {
    if (!(error_reporting() & $no))
        return false;
    throw new ErrorException($msg, 0, $no, $file, $line);
});
register_shutdown_function(function (): void {
    $e = error_get_last();
    if ($e !== null && in_array($e['type'], [E_ERROR, E_CORE_ERROR, E_COMPILE_ERROR, E_PARSE], true) && !headers_sent()) {
        // Fatal: memory or time limit. Answer JSON rather than PHP's page.
        $timeout = str_contains($e['message'], 'Maximum execution time');
        cc_send_error(new CCError($timeout ? 'request-timeout' : 'server-error',
            $timeout ? 'request not completed in time' : 'internal error'));
    }
});

/** Request headers, lower-cased (getallheaders where the SAPI has it, else $_SERVER). */
function cc_headers(): array
{
    $out = [];
    if (function_exists('getallheaders')) {
        foreach (getallheaders() as $k => $v)
            $out[strtolower((string)$k)] = (string)$v;
    }
    foreach ($_SERVER as $k => $v) {
        if (is_string($v) && str_starts_with($k, 'HTTP_'))
            $out[strtolower(str_replace('_', '-', substr($k, 5)))] ??= $v;
    }
    // Hosts that hide Authorization from PHP: .htaccess copies it here.
    foreach (['REDIRECT_HTTP_AUTHORIZATION', 'HTTP_AUTHORIZATION'] as $k) {
        if (!isset($out['authorization']) && isset($_SERVER[$k]))
            $out['authorization'] = (string)$_SERVER[$k];
    }
    if (!isset($out['content-length']) && isset($_SERVER['CONTENT_LENGTH']) && $_SERVER['CONTENT_LENGTH'] !== '')
        $out['content-length'] = (string)$_SERVER['CONTENT_LENGTH'];
    return $out;
}

function cc_send_json(int $status, array $json, array $headers = []): void
{
    $body = json_encode($json, JSON_UNESCAPED_SLASHES);
    if (!headers_sent()) {
        http_response_code($status);
        header('Content-Type: application/json');
        header('Content-Length: ' . strlen($body));
        foreach ($headers as $h)
            header($h);
    }
    echo $body;
}

function cc_send_error(CCError $e): void
{
    cc_send_json($e->status(), ['error' => ['code' => $e->errCode, 'message' => $e->getMessage()] + $e->detail]);
}

final class CCServer
{
    private CCStore $store;
    private string $tokenKey;
    private array $headers;
    private string $method;

    public function __construct(private array $cfg)
    {
        $clock = function () use ($cfg): int {
            $offset = 0;
            if ($cfg['test_hooks'] && is_file($cfg['data_dir'] . '/test-clock'))
                $offset = (int)file_get_contents($cfg['data_dir'] . '/test-clock');
            return time() + $offset;
        };
        $this->store = new CCStore($cfg['data_dir'], $cfg['capacity'], $clock);
        $this->tokenKey = cc_token_key($cfg['admin_key']);
        $this->headers = cc_headers();
        $this->method = strtoupper((string)($_SERVER['REQUEST_METHOD'] ?? 'GET'));
    }

    /** The request target relative to the base path (what admin calls sign). */
    private function target(): string
    {
        $target = (string)($_SERVER['REQUEST_URI'] ?? '/');
        if ($target === '' || $target[0] !== '/')
            throw new CCError('bad-request', 'request target must be a path');
        $base = $this->cfg['base_path'];
        if ($base !== '') {
            $rest = substr($target, strlen($base));
            if (!str_starts_with($target, $base) || !($rest === '' || $rest[0] === '/' || $rest[0] === '?'))
                throw new CCError('not-found', 'no such endpoint');
            $target = ($rest !== '' && $rest[0] === '/') ? $rest : "/$rest";
        }
        return $target;
    }

    public function handle(): void
    {
        $target = $this->target();
        $q = strpos($target, '?');
        $path = $q === false ? $target : substr($target, 0, $q);
        parse_str($q === false ? '' : substr($target, $q + 1), $query);
        $parts = array_values(array_filter(explode('/', $path), fn($p) => $p !== ''));
        // Dot segments never name anything (as a URL parser would resolve them away).
        foreach ($parts as $p) {
            if ($p === '.' || $p === '..' || strcasecmp($p, '%2e') === 0 || strcasecmp($p, '%2e%2e') === 0)
                throw new CCError('not-found', 'no such endpoint');
        }
        if (($parts[0] ?? '') === 'v1') {
            $this->store->open();
            $this->data($query, array_slice($parts, 1));
            return;
        }
        if (($parts[0] ?? '') === 'admin') {
            $this->admin($target, array_slice($parts, 1));
            return;
        }
        throw new CCError('not-found', 'no such endpoint');
    }

    private static function objectId(?string $text): ?int
    {
        if ($text === null || !preg_match('/^(0|[1-9][0-9]{0,9})$/D', $text))
            return null;
        $n = (int)$text;
        return $n <= CC_MAX_OBJECT_ID ? $n : null;
    }

    // ---- data API ----

    /**
     * The request's data token, verified: [fields, id], id being its MAC
     * (what its byte budget is kept under). A `get` token for every data
     * object (CC_ALL_OBJECTS) covers each data object, never the manifest.
     */
    private function authorize(array $query, string $contract, int $object, string $op): array
    {
        $token = isset($query['token']) && is_string($query['token']) ? $query['token'] : null;
        if (isset($this->headers['authorization'])) {
            if (!preg_match('/^CC-Token\s+(\S+)$/D', $this->headers['authorization'], $m))
                throw new CCError('bad-token', 'Authorization must be "CC-Token <token>"');
            $token = $m[1];
        }
        if ($token === null || $token === '')
            throw new CCError('missing-token', 'a data token is required');
        $f = cc_verify_token($this->tokenKey, $token);
        if ($f['notAfter'] < $this->store->now())
            throw new CCError('token-expired', 'token has expired');
        $covers = $f['object'] === $object || ($f['object'] === CC_ALL_OBJECTS && $op === 'get' && $object !== 0);
        if ($f['contract'] !== $contract || !$covers || $f['op'] !== $op)
            throw new CCError('token-scope', "token grants {$f['op']} on " . substr($f['contract'], 0, 8) . '../'
                . ($f['object'] === CC_ALL_OBJECTS ? '*' : $f['object']));
        return [$f, substr($token, strrpos($token, '.') + 1)];
    }

    /**
     * Counts $bytes about to be served against a `get` token's budget, or
     * refuses with over-budget before anything is sent; $bytes = 0 checks
     * that $need bytes would fit (a HEAD answers as its GET would).
     * Returns the bytes left.
     */
    private function charge(array $token, int $bytes, ?int $need = null): int
    {
        [$f, $id] = $token;
        $need ??= $bytes;
        [$ok, $left, $uncounted] = cc_spend_budget($this->cfg['data_dir'] . '/budgets', $id, $f['notAfter'], $f['maxBytes'], $bytes, $this->store->now());
        if ($uncounted !== null)
            error_log("cloudcoin fileserver: download budgets cannot be counted ($uncounted): a read is served uncounted");
        if (!$ok || $need > $left + $bytes)
            throw new CCError('over-budget', "the token has $left of its {$f['maxBytes']} bytes left; $need asked", ['left' => $left]);
        return $left;
    }

    private function authorizeEither(array $query, string $contract, int $object): void
    {
        try {
            $this->authorize($query, $contract, $object, 'put');
        } catch (CCError $e) {
            if ($e->errCode !== 'token-scope')
                throw $e;
            $this->authorize($query, $contract, $object, 'get');
        }
    }

    private function data(array $query, array $parts): void
    {
        [$contract, $objText, $sub, $leafText] = array_pad($parts, 4, null);
        if (!CCStore::isId($contract))
            throw new CCError('not-found', 'contract ids are 64 lowercase hex');
        $object = self::objectId($objText);
        if ($object === null)
            throw new CCError('not-found', 'object ids are decimal 0..4294967294');
        if ($sub === null) {
            if ($this->method === 'PUT') {
                $this->put($query, $contract, $object);
                return;
            }
            if ($this->method === 'GET' || $this->method === 'HEAD') {
                $this->get($query, $contract, $object, $this->method === 'HEAD');
                return;
            }
            throw new CCError('method-not-allowed', 'use PUT, GET or HEAD');
        }
        if ($sub === 'status' && count($parts) === 3) {
            if ($this->method !== 'GET')
                throw new CCError('method-not-allowed', 'use GET');
            $this->authorizeEither($query, $contract, $object);
            if ($object === 0) {
                $st = $this->store->state($contract);
                cc_send_json(200, ['contract' => $contract, 'object' => 0, 'size' => $st['manifestSize'],
                    'received' => $st['manifestSize'], 'complete' => $st['manifestSize'] > 0]);
                return;
            }
            $st = $this->store->objectState($contract, $object);
            cc_send_json(200, ['contract' => $contract, 'object' => $object, 'size' => $st['size'],
                'received' => $st['received'], 'complete' => $st['complete']]);
            return;
        }
        if ($sub === 'proof' && count($parts) === 4 && $object !== 0) {
            if ($this->method !== 'GET')
                throw new CCError('method-not-allowed', 'use GET');
            $token = $this->authorize($query, $contract, $object, 'get');
            if (!preg_match('/^(0|[1-9][0-9]{0,12})$/D', (string)$leafText))
                throw new CCError('bad-leaf', 'leaf index must be decimal');
            $raw = $this->store->proof($contract, $object, (int)$leafText);
            // A proof is bytes served like any other.
            $left = $this->charge($token, strlen($raw));
            http_response_code(200);
            header('Content-Type: application/octet-stream');
            header("X-CC-Budget-Left: $left");
            header('Content-Length: ' . strlen($raw));
            echo $raw;
            return;
        }
        throw new CCError('not-found', 'no such endpoint');
    }

    private function contentLength(int $max): int
    {
        $text = $this->headers['content-length'] ?? null;
        if ($text === null || isset($this->headers['transfer-encoding']))
            throw new CCError('length-required', 'Content-Length is required');
        if (!preg_match('/^[0-9]{1,16}$/D', $text))
            throw new CCError('bad-request', 'bad Content-Length');
        $length = (int)$text;
        if ($length > $max)
            throw new CCError('too-large', "body limit is $max bytes", ['limit' => $max]);
        return $length;
    }

    private function put(array $query, string $contract, int $object): void
    {
        $token = $this->authorize($query, $contract, $object, 'put')[0];
        $offText = isset($query['offset']) && is_string($query['offset']) ? $query['offset'] : '0';
        if (!preg_match('/^(0|[1-9][0-9]{0,15})$/D', $offText))
            throw new CCError('bad-request', 'offset must be decimal');
        $offset = (int)$offText;
        $body = fopen('php://input', 'rb');
        if ($object === 0) {
            $length = $this->contentLength(CC_MAX_MANIFEST);
            if ($offset !== 0)
                throw new CCError('bad-offset', 'the manifest is written whole', ['received' => 0]);
            if ($length > $token['maxBytes'])
                throw new CCError('token-scope', 'body beyond token maxBytes');
            $size = $this->store->writeManifest($contract, $length, $body);
            cc_send_json(200, ['contract' => $contract, 'object' => 0, 'size' => $size, 'received' => $size, 'complete' => true]);
            return;
        }
        $length = $this->contentLength(CC_MAX_PART);
        if ($offset + $length > $token['maxBytes'])
            throw new CCError('token-scope', 'part beyond token maxBytes');
        $st = $this->store->writePart($contract, $object, $offset, $length, $body);
        cc_send_json(200, ['contract' => $contract, 'object' => $object, 'size' => $st['size'],
            'received' => $st['received'], 'complete' => $st['complete']]);
    }

    /** One byte range (RFC 9110), an end of any length clamped; null without Range; false when bad. */
    private static function range(?string $header, int $size): array|false|null
    {
        if ($header === null)
            return null;
        if (strlen($header) > 200 || !preg_match('/^bytes=([0-9]*)-([0-9]*)$/D', trim($header), $m) || ($m[1] === '' && $m[2] === ''))
            return false;
        $num = fn(string $t): float|int => strlen(ltrim($t, '0')) > 16 ? INF : (int)$t;
        if ($m[1] === '') {
            $n = $num($m[2]);
            if ($n == 0)
                return false;
            $start = (int)max(0, $size - $n);
            $end = $size - 1;
        } else {
            $start = $num($m[1]);
            $end = $m[2] === '' ? $size - 1 : min($num($m[2]), $size - 1);
        }
        if ($start > $end || $start >= $size)
            return false;
        return [(int)$start, (int)$end];
    }

    private function get(array $query, string $contract, int $object, bool $head): void
    {
        $token = $this->authorize($query, $contract, $object, 'get');
        [$file, $size, $record] = $this->store->locate($contract, $object);
        $headers = ['Accept-Ranges: bytes', 'Content-Type: application/octet-stream'];
        if ($record !== null) {
            $headers[] = 'X-CC-Root: ' . $record['root'];
            $headers[] = 'X-CC-Leaves: ' . cc_leaf_count($record['size']);
        }
        $range = self::range($this->headers['range'] ?? null, $size);
        if ($range === false)
            throw new CCError('bad-range', 'one satisfiable byte range is required', ['size' => $size]);
        [$start, $end] = $range ?? [0, $size - 1];
        $status = $range ? 206 : 200;
        if ($range)
            $headers[] = "Content-Range: bytes $start-$end/$size";
        $length = $end - $start + 1;
        if (!$head && $length > CC_MAX_RESPONSE)
            throw new CCError($range ? 'bad-range' : 'range-required', 'responses are at most ' . CC_MAX_RESPONSE . ' bytes; use Range', ['size' => $size]);
        $headers[] = 'Content-Length: ' . ($head && !$range ? $size : $length);
        if ($record !== null && $range && $start % CC_LEAF_SIZE === 0
            && ($length === CC_LEAF_SIZE || ($end === $size - 1 && $length < CC_LEAF_SIZE)))
            $headers[] = 'X-CC-Proof: ' . bin2hex($this->store->proof($contract, $object, intdiv($start, CC_LEAF_SIZE)));
        $fh = null;
        if ($head) {
            // A HEAD serves nothing: free, but with Range it answers as its GET would.
            $headers[] = 'X-CC-Budget-Left: ' . $this->charge($token, 0, $range ? $length : 0);
        } else {
            $fh = @fopen($file, 'rb');
            if ($fh === false)
                throw cc_io_error('open');
            // Counted once the bytes can be sent and before any is; a cut response is not refunded.
            try {
                $headers[] = 'X-CC-Budget-Left: ' . $this->charge($token, $length);
            } catch (Throwable $e) {
                fclose($fh);
                throw $e;
            }
        }
        http_response_code($status);
        foreach ($headers as $h)
            header($h);
        if ($fh === null)
            return;
        // Stream in 64 KiB pieces; nothing holds the range in memory.
        fseek($fh, $start);
        for ($left = $length; $left > 0 && !connection_aborted();) {
            $piece = fread($fh, min(65536, $left));
            if ($piece === false || $piece === '')
                break;
            echo $piece;
            flush();
            $left -= strlen($piece);
        }
        fclose($fh);
    }

    // ---- admin API ----

    private function admin(string $target, array $parts): void
    {
        $now = $this->store->now();
        [$time, $nonce, $auth] = cc_admin_precheck($this->headers, $now);
        $text = $this->headers['content-length'] ?? null;
        if ($text !== null && (!preg_match('/^[0-9]{1,10}$/D', $text) || (int)$text > CC_MAX_ADMIN_BODY))
            throw new CCError('too-large', 'admin bodies are at most ' . CC_MAX_ADMIN_BODY . ' bytes');
        $body = (string)@file_get_contents('php://input', false, null, 0, CC_MAX_ADMIN_BODY + 1);
        if (strlen($body) > CC_MAX_ADMIN_BODY)
            throw new CCError('too-large', 'admin bodies are at most ' . CC_MAX_ADMIN_BODY . ' bytes');
        if ($text !== null && strlen($body) !== (int)$text)
            throw new CCError('truncated-body', 'request body ended early');
        cc_admin_check($this->cfg['admin_key'], $this->method, $target, $body, $time, $nonce, $auth);
        $this->store->open();
        cc_check_nonce($this->cfg['data_dir'] . '/nonces', $nonce, $time, $now);
        $json = [];
        if ($body !== '') {
            $json = json_decode($body, true);
            if (!is_array($json) || array_is_list($json) && $json !== [])
                throw new CCError('bad-json', 'body must be a JSON object');
        }
        [$what, $id, $sub, $objText, $objSub] = array_pad($parts, 5, null);
        $m = $this->method;
        $s = $this->store;
        if ($what === 'status' && count($parts) === 1 && $m === 'GET') {
            cc_send_json(200, ['version' => CC_VERSION, 'time' => $now] + $s->status()
                + ['memory' => ['peak' => memory_get_peak_usage(true), 'limit' => (string)ini_get('memory_limit')], 'server' => 'php ' . PHP_VERSION]);
            return;
        }
        if ($what === 'purge' && count($parts) === 1 && $m === 'POST') {
            cc_send_json(200, ['purged' => $s->purge()]);
            return;
        }
        if ($what === 'tokens' && count($parts) === 1 && $m === 'POST') {
            cc_send_json(200, ['token' => cc_mint_token($this->tokenKey, $json)]);
            return;
        }
        if ($what === 'test' && $this->cfg['test_hooks']) {
            $this->testHook($m, array_slice($parts, 1), $json);
            return;
        }
        if ($what === 'contracts' && $id !== null) {
            if (!CCStore::isId($id))
                throw new CCError('bad-contract', 'contract ids are 64 lowercase hex');
            if (count($parts) === 2) {
                if ($m === 'PUT') {
                    cc_send_json(200, $s->register($id, $json['expiry'] ?? null, $json['manifestLimit'] ?? null));
                    return;
                }
                if ($m === 'GET') {
                    cc_send_json(200, $s->state($id));
                    return;
                }
                if ($m === 'DELETE') {
                    if (!$s->unregister($id))
                        throw new CCError('unknown-contract', 'no such contract');
                    cc_send_json(200, ['removed' => $id]);
                    return;
                }
                throw new CCError('method-not-allowed', 'use PUT, GET or DELETE');
            }
            if ($sub === 'adopt' && count($parts) === 3) {
                if ($m !== 'POST')
                    throw new CCError('method-not-allowed', 'use POST');
                $from = $json['from'] ?? null;
                cc_send_json(200, ['contract' => $id, 'from' => $from, 'adopted' => $s->adopt($id, $from, $json['objects'] ?? null)]);
                return;
            }
            if ($sub === 'objects' && count($parts) >= 4) {
                $n = self::objectId($objText);
                if ($n === null || $n === 0)
                    throw new CCError('bad-object', 'data object ids are 1..' . CC_MAX_OBJECT_ID);
                if (count($parts) === 4) {
                    if ($m === 'PUT') {
                        cc_send_json(200, $s->registerObject($id, $n, $json['root'] ?? null, $json['size'] ?? null));
                        return;
                    }
                    if ($m === 'GET') {
                        cc_send_json(200, $s->objectState($id, $n));
                        return;
                    }
                    if ($m === 'DELETE') {
                        $s->deleteObject($id, $n);
                        cc_send_json(200, ['removed' => $n]);
                        return;
                    }
                    throw new CCError('method-not-allowed', 'use PUT, GET or DELETE');
                }
                if (count($parts) === 5 && $objSub === 'receipt') {
                    if ($m !== 'GET')
                        throw new CCError('method-not-allowed', 'use GET');
                    cc_send_json(200, $s->receipt($id, $n));
                    return;
                }
            }
        }
        throw new CCError('not-found', 'no such admin endpoint');
    }

    /**
     * Test-only hooks (config test_hooks => true; never on a real host):
     * shift the clock, list or read files of the data folder, flip a byte.
     */
    private function testHook(string $m, array $parts, array $json): void
    {
        $dir = $this->cfg['data_dir'];
        $rel = function (mixed $p): string {
            if (!is_string($p) || !preg_match('#^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$#D', $p) || str_contains($p, '..'))
                throw new CCError('bad-request', 'path must be relative to the data folder');
            return $p;
        };
        $hook = $parts[0] ?? '';
        if ($hook === 'clock' && $m === 'POST') {
            CCStore::writeAtomic("$dir/test-clock", (string)(int)($json['offset'] ?? 0));
            cc_send_json(200, ['time' => $this->store->now()]);
            return;
        }
        if ($hook === 'files' && $m === 'POST') {
            $root = "$dir/" . $rel($json['under'] ?? '.');
            $out = [];
            if (is_dir($root)) {
                $it = new RecursiveIteratorIterator(new RecursiveDirectoryIterator($root, FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::SELF_FIRST);
                foreach ($it as $f)
                    $out[] = substr($f->getPathname(), strlen($dir) + 1) . ($f->isDir() ? '/' : '');
            }
            sort($out);
            cc_send_json(200, ['files' => $out]);
            return;
        }
        if ($hook === 'read' && $m === 'POST') {
            $file = "$dir/" . $rel($json['path'] ?? null);
            if (!is_file($file))
                throw new CCError('not-found', 'no such file');
            cc_send_json(200, ['base64' => base64_encode((string)file_get_contents($file))]);
            return;
        }
        if ($hook === 'flip' && $m === 'POST') {
            $file = "$dir/" . $rel($json['path'] ?? null);
            $at = (int)($json['offset'] ?? 0);
            $fh = fopen($file, 'r+b');
            fseek($fh, $at);
            $b = fread($fh, 1);
            fseek($fh, $at);
            fwrite($fh, chr(ord($b) ^ 1));
            fclose($fh);
            cc_send_json(200, ['flipped' => $at]);
            return;
        }
        throw new CCError('not-found', 'no such test hook');
    }
}

try {
    (new CCServer(cc_config()))->handle();
} catch (CCError $e) {
    cc_send_error($e);
} catch (Throwable $e) {
    error_log('cloudcoin fileserver: ' . $e->getMessage() . ' at ' . $e->getFile() . ':' . $e->getLine());
    // A file-system warning turned exception carries the errno in its text.
    $mapped = cc_io_error('request', $e->getMessage());
    cc_send_error($mapped->errCode === 'io-error' ? new CCError('server-error', 'internal error') : $mapped);
}
