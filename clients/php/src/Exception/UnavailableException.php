<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * Connect code `unavailable`: The merchant's ERP is offline (no agent connected, tunnel dropped, database down) or
 * the gateway is unreachable. Retried once automatically; show what the shop already knows.
 */
class UnavailableException extends OnlineConnectException
{
    public const CONNECT_CODE = 'unavailable';
}
