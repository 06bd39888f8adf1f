<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `unknown`: An error of unclear origin (also: an error code this client does not know). */
class UnknownException extends OnlineConnectException
{
    public const CONNECT_CODE = 'unknown';
}
