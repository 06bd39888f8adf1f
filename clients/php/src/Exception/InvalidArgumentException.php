<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * Connect code `invalid_argument`: A request field is missing or malformed; the message names it. Fix the call; do
 * not retry.
 */
class InvalidArgumentException extends OnlineConnectException
{
    public const CONNECT_CODE = 'invalid_argument';
}
