<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `unauthenticated`: The API key is missing or unknown: a configuration problem, alert. */
class UnauthenticatedException extends OnlineConnectException
{
    public const CONNECT_CODE = 'unauthenticated';
}
