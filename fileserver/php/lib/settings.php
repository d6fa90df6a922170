<?php
/*
 * settings.php - config.php read and checked: each setting the server
 * cannot use is refused with `not-configured` and a message naming it and
 * why (docs/HOSTING.md), never cast into something else.
 */

declare(strict_types=1);

/**
 * config.php's capacity as bytes: a whole number from 1 to PHP_INT_MAX
 * (an int, a whole float below 2^63 such as 1e9, or a string of digits).
 * Anything else is refused, saying why: a cast would read '10GB' as 10
 * bytes, keep -5, and wrap 1.5e20, and the server would report healthy.
 */
function cc_capacity(mixed $c): int
{
    $why = is_int($c) || is_float($c) || is_string($c) ? null : 'not a number';
    if (is_string($c) && !preg_match('/^[0-9]+$/D', $c))
        $why = 'text, not a number of bytes';
    elseif (is_string($c)) {
        $digits = ltrim($c, '0');
        $max = (string)PHP_INT_MAX;
        if (strlen($digits) > strlen($max) || (strlen($digits) === strlen($max) && strcmp($digits, $max) > 0))
            $why = 'above PHP_INT_MAX (' . PHP_INT_MAX . ')';
        else
            $c = (int)$digits;
    }
    if (is_float($c)) {
        if (is_nan($c))
            $why = 'not a number';
        elseif ($c >= 9223372036854775808.0)
            $why = 'above PHP_INT_MAX (' . PHP_INT_MAX . ')';
        elseif ($c <= 0)
            $why = 'not above 0';
        elseif (floor($c) !== $c)
            $why = 'not a whole number';
        else
            $c = (int)$c;
    }
    if ($why === null && is_int($c)) {
        if ($c > 0)
            return $c;
        $why = 'not above 0';
    }
    $why ??= 'not a number';
    $got = is_scalar($c) ? var_export($c, true) : get_debug_type($c);
    throw new CCError('not-configured', 'capacity in config.php must be a whole number of bytes from 1 to PHP_INT_MAX, '
        . "e.g. 10 * 1024 * 1024 * 1024 for 10 GiB (units such as GB are not read): got $got ($why)");
}

/** One loaded configuration: config.php, or the file CC_FILESERVER_CONFIG names. */
function cc_config(): array
{
    $file = getenv('CC_FILESERVER_CONFIG') ?: dirname(__DIR__) . '/config.php';
    $cfg = is_file($file) ? require $file : null;
    if (!is_array($cfg))
        throw new CCError('not-configured', 'config.php is missing or does not return an array');
    $key = $cfg['admin_key'] ?? '';
    if (!is_string($key) || !preg_match('/^[0-9a-f]{64}$/D', strtolower(trim($key))))
        throw new CCError('not-configured', 'admin_key in config.php must be 64 hex characters (see docs/HOSTING.md)');
    $base = rtrim((string)($cfg['base_path'] ?? ''), '/');
    if ($base !== '' && !preg_match('#^(/[A-Za-z0-9._~-]+)+$#D', $base))
        throw new CCError('not-configured', 'base_path in config.php must look like /cc');
    $dir = (string)($cfg['data_dir'] ?? '');
    if ($dir === '')
        throw new CCError('not-configured', 'data_dir in config.php is required');
    if ($dir[0] !== '/')
        $dir = dirname(__DIR__) . '/' . $dir;
    return [
        'admin_key' => hex2bin(strtolower(trim($key))),
        'data_dir' => rtrim($dir, '/'),
        'base_path' => $base,
        'capacity' => cc_capacity($cfg['capacity'] ?? 10 * (1 << 30)),
        'test_hooks' => ($cfg['test_hooks'] ?? false) === true,
    ];
}
