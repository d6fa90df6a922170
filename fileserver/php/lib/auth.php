<?php
/*
 * auth.php - data tokens and admin signatures (docs/PROTOCOL.md 4.6, 4.7),
 * the on-disk admin nonce store (per-minute buckets, as fileserver/replay.ts)
 * and the byte budgets of `get` tokens (as fileserver/budget.ts).
 */

declare(strict_types=1);

const CC_ADMIN_WINDOW = 120;
/** The object of a `get` token that reads every data object of its contract. */
const CC_ALL_OBJECTS = 4294967295;
/** Budget counters are grouped by the hour their tokens expire in. */
const CC_BUDGET_BUCKET = 3600;

/** K_tok = HKDF-SHA256(ikm = K_admin, salt = "", info = "cc/token", 32). */
function cc_token_key(string $adminKey): string
{
    return hash_hkdf('sha256', $adminKey, 32, 'cc/token', '');
}

/** Verifies a token; returns its fields or throws `bad-token`. */
function cc_verify_token(string $tokenKey, string $token): array
{
    if (strlen($token) > 256)
        throw new CCError('bad-token', 'token too long');
    $parts = explode('.', $token);
    if (count($parts) !== 9 || $parts[0] !== 'v2')
        throw new CCError('bad-token', 'token is not v2 with 9 fields');
    [, $contract, $op, $object, $notAfter, $maxBytes, $nonce, $pkh, $mac] = $parts;
    if (!preg_match('/^[0-9a-f]{16}$/D', $nonce))
        throw new CCError('bad-token', 'nonce must be 16 lowercase hex');
    $dec = '/^(0|[1-9][0-9]{0,15})$/D';
    if (!preg_match($dec, $object) || !preg_match($dec, $notAfter) || !preg_match($dec, $maxBytes))
        throw new CCError('bad-token', 'token numbers must be decimal');
    if (!preg_match('/^[0-9a-f]{64}$/D', $mac))
        throw new CCError('bad-token', 'token mac must be 64 hex');
    if (!preg_match('/^[0-9a-f]{64}$/D', $contract) || ($op !== 'get' && $op !== 'put')
        || (int)$object > CC_ALL_OBJECTS || !preg_match('/^[0-9a-f]{40}$/D', $pkh))
        throw new CCError('bad-token', 'malformed token fields');
    if ($op === 'put' && (int)$object === CC_ALL_OBJECTS)
        throw new CCError('bad-token', 'a put token names one object');
    $body = implode('.', array_slice($parts, 0, 8));
    if (!hash_equals(hash_hmac('sha256', $body, $tokenKey), $mac))
        throw new CCError('bad-token', 'token mac does not verify');
    return ['contract' => $contract, 'op' => $op, 'object' => (int)$object, 'notAfter' => (int)$notAfter,
        'maxBytes' => (int)$maxBytes, 'nonce' => $nonce, 'renterPkHash' => $pkh];
}

/** Mints a token (POST /admin/tokens). */
function cc_mint_token(string $tokenKey, array $f): string
{
    $int = fn($v, $max) => is_int($v) && $v >= 0 && $v <= $max;
    if (!is_string($f['contract'] ?? null) || !preg_match('/^[0-9a-f]{64}$/D', $f['contract'])
        || !in_array($f['op'] ?? null, ['get', 'put'], true) || !$int($f['object'] ?? null, 4294967295)
        || !$int($f['notAfter'] ?? null, PHP_INT_MAX) || !$int($f['maxBytes'] ?? null, PHP_INT_MAX)
        || !is_string($f['renterPkHash'] ?? null) || !preg_match('/^[0-9a-f]{40}$/D', $f['renterPkHash'])
        || ($f['op'] === 'put' && $f['object'] === CC_ALL_OBJECTS)
        || (isset($f['nonce']) && (!is_string($f['nonce']) || !preg_match('/^[0-9a-f]{16}$/D', $f['nonce']))))
        throw new CCError('bad-request', 'token fields: contract, op, object, notAfter, maxBytes, renterPkHash, optional nonce (16 hex) (a put token names one object)');
    // A random nonce per token unless given: equal fields must not share a budget.
    $nonce = $f['nonce'] ?? bin2hex(random_bytes(8));
    $body = implode('.', ['v2', $f['contract'], $f['op'], $f['object'], $f['notAfter'], $f['maxBytes'], $nonce, $f['renterPkHash']]);
    return $body . '.' . hash_hmac('sha256', $body, $tokenKey);
}

/** The three admin headers, or a failure code before any body is read. */
function cc_admin_precheck(array $headers, int $now): array
{
    $time = $headers['x-cc-time'] ?? null;
    $nonce = $headers['x-cc-nonce'] ?? null;
    $auth = $headers['x-cc-auth'] ?? null;
    if ($time === null || $nonce === null || $auth === null)
        throw new CCError('missing-auth', 'admin authentication failed');
    if (!preg_match('/^[0-9]{1,12}$/D', $time) || !preg_match('/^[0-9a-f]{32}$/D', $nonce) || !preg_match('/^[0-9a-f]{64}$/D', $auth))
        throw new CCError('bad-signature', 'admin authentication failed');
    if (abs((int)$time - $now) > CC_ADMIN_WINDOW)
        throw new CCError('stale-request', 'request time is outside the 120 s window');
    return [(int)$time, $nonce, $auth];
}

/** Checks the MAC over METHOD \n path \n hex(SHA256(body)) \n time \n nonce. */
function cc_admin_check(string $adminKey, string $method, string $path, string $body, int $time, string $nonce, string $auth): void
{
    $msg = strtoupper($method) . "\n" . $path . "\n" . hash('sha256', $body) . "\n" . $time . "\n" . $nonce;
    if (!hash_equals(hash_hmac('sha256', $msg, $adminKey), $auth))
        throw new CCError('bad-signature', 'admin authentication failed');
}

/** Records a nonce; throws `replayed-nonce` if it was seen within the window. */
function cc_check_nonce(string $dir, string $nonce, int $time, int $now): void
{
    $bucketSize = 60;
    if (!is_dir($dir) && !@mkdir($dir, 0700, true) && !is_dir($dir))
        throw cc_io_error('mkdir');
    // Sweep buckets that can no longer hold a request time within the window
    // (at most once a minute: a marker file's mtime).
    $marker = "$dir/.swept";
    if (!is_file($marker) || filemtime($marker) < time() - $bucketSize) {
        @touch($marker);
        $oldest = intdiv($now - CC_ADMIN_WINDOW, $bucketSize) - 1;
        foreach (scandir($dir) ?: [] as $name) {
            if (preg_match('/^[0-9]+$/D', $name) && (int)$name < $oldest) {
                foreach (scandir("$dir/$name") ?: [] as $f) {
                    if ($f !== '.' && $f !== '..')
                        @unlink("$dir/$name/$f");
                }
                @rmdir("$dir/$name");
            }
        }
        error_clear_last();
    }
    $bucket = "$dir/" . intdiv($time, $bucketSize);
    if (!is_dir($bucket) && !@mkdir($bucket, 0700) && !is_dir($bucket))
        throw cc_io_error('mkdir');
    $fh = @fopen("$bucket/$nonce", 'x');
    if ($fh === false) {
        if (file_exists("$bucket/$nonce")) {
            error_clear_last();
            throw new CCError('replayed-nonce', 'nonce already used');
        }
        throw cc_io_error('create');
    }
    fclose($fh);
}

/**
 * Counts $n bytes against a `get` token's budget ($mac, expiring at
 * $notAfter, $budget bytes), unless they do not fit: returns [ok, left,
 * uncounted]. $n = 0 only reads. The counter is budgets/<hour>/<mac>/<spent>,
 * moved by rename() as a compare-and-swap (fileserver/budget.ts says why):
 * of two requests racing, the loser's rename finds its source gone and
 * reads again. A folder that cannot be written (full, read-only) serves the
 * read uncounted, as the Node server does: a full disk must not fail audits.
 */
function cc_spend_budget(string $dir, string $mac, int $notAfter, int $budget, int $n, int $now): array
{
    // The marker holds the server clock of the last sweep of expired hours.
    $marker = "$dir/.swept";
    if (is_dir($dir) && abs($now - (int)@file_get_contents($marker)) >= 60) {
        @file_put_contents($marker, (string)$now);
        foreach (scandir($dir) ?: [] as $name) {
            if (preg_match('/^[0-9]+$/D', $name) && ((int)$name + 1) * CC_BUDGET_BUCKET - 1 < $now)
                CCStore::rmrf("$dir/$name");
        }
    }
    error_clear_last();
    $tdir = "$dir/" . intdiv($notAfter, CC_BUDGET_BUCKET) . "/$mac";
    for ($round = 0; $round < 64; $round++) {
        $spent = null;
        $names = @scandir($tdir);
        error_clear_last();
        if ($names !== false) {
            $spent = 0;
            foreach ($names as $name) {
                if (preg_match('/^(0|[1-9][0-9]{0,15})$/D', $name))
                    $spent = max($spent, (int)$name);
            }
        }
        $have = $spent ?? 0;
        if ($have + $n > $budget)
            return [false, max(0, $budget - $have), null];
        if ($n === 0)
            return [true, $budget - $have, null];
        try {
            if ($spent === null) {
                // The token's folder appears with its counter in one rename.
                $parent = dirname($tdir);
                if (!is_dir($parent) && !@mkdir($parent, 0700, true) && !is_dir($parent))
                    throw cc_io_error('mkdir');
                $tmp = "$tdir.tmp-" . bin2hex(random_bytes(6));
                if (!@mkdir($tmp, 0700))
                    throw cc_io_error('mkdir');
                if (@file_put_contents("$tmp/0", '') === false) {
                    $err = cc_io_error('create');
                    @rmdir($tmp);
                    throw $err;
                }
                if (!@rename($tmp, $tdir))
                    CCStore::rmrf($tmp);
                error_clear_last();
                continue;
            }
            if (@rename("$tdir/$spent", "$tdir/" . ($spent + $n)))
                return [true, $budget - $spent - $n, null];
            // Another request moved the counter first (its name is gone): read it again.
            if (file_exists("$tdir/$spent"))
                throw cc_io_error('rename');
            error_clear_last();
        } catch (CCError $e) {
            if ($e->errCode === 'disk-full' || $e->errCode === 'not-writable')
                return [true, $budget - $have - $n, $e->errCode];
            throw $e;
        }
    }
    throw new CCError('busy', "the token's budget is being spent by other requests; retry");
}
