<?php
/*
 * errors.php - the file server's error codes (docs/FILESERVER.md), one HTTP
 * status each, and the mapping of PHP's file-system failures to them. PHP
 * reports a failed write as a warning whose text carries the errno; every
 * warning is turned into an exception by index.php, so no PHP warning page
 * ever reaches a client.
 */

declare(strict_types=1);

const CC_STATUS = [
    'bad-request' => 400, 'bad-contract' => 400, 'bad-object' => 400, 'empty-body' => 400, 'bad-leaf' => 400,
    'bad-json' => 400, 'truncated-body' => 400,
    'missing-token' => 401, 'bad-token' => 401, 'token-expired' => 401, 'missing-auth' => 401,
    'bad-signature' => 401, 'stale-request' => 401, 'replayed-nonce' => 401,
    'over-budget' => 402,
    'token-scope' => 403,
    'not-found' => 404, 'unknown-contract' => 404, 'unknown-object' => 404, 'object-not-found' => 404,
    'method-not-allowed' => 405,
    'request-timeout' => 408,
    'bad-offset' => 409, 'busy' => 409, 'already-complete' => 409, 'contract-exists' => 409, 'object-exists' => 409,
    'too-many-objects' => 409, 'upload-incomplete' => 409,
    'contract-expired' => 410,
    'length-required' => 411,
    'too-large' => 413, 'range-required' => 413,
    'bad-range' => 416,
    'unaligned-part' => 422, 'root-mismatch' => 422,
    'headers-too-large' => 431,
    'server-error' => 500, 'not-writable' => 500, 'io-error' => 500, 'not-configured' => 500,
    'no-capacity' => 507, 'disk-full' => 507,
];

/** An error answered as JSON {error: {code, message, ...detail}}. */
final class CCError extends Exception
{
    public string $errCode;
    public array $detail;

    public function __construct(string $code, string $message, array $detail = [])
    {
        parent::__construct($message);
        $this->errCode = $code;
        $this->detail = $detail;
    }

    public function status(): int
    {
        return CC_STATUS[$this->errCode] ?? 500;
    }
}

/**
 * The documented code for the last file-system failure: ENOSPC/EDQUOT
 * `disk-full`, EACCES/EPERM/EROFS `not-writable`, anything else `io-error`.
 */
function cc_io_error(string $what, ?string $message = null): CCError
{
    $text = $message ?? (error_get_last()['message'] ?? '');
    error_clear_last();
    if (preg_match('/No space left|errno=28\b|Disk quota|errno=122\b/i', $text))
        return new CCError('disk-full', "the server's disk is full");
    if (preg_match('/Permission denied|errno=13\b|Operation not permitted|errno=1\b|Read-only file system|errno=30\b/i', $text))
        return new CCError('not-writable', 'the server cannot write its data folder');
    return new CCError('io-error', "the server's disk failed ($what)");
}
