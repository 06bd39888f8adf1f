<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `canceled`: The call was cancelled, usually by the caller. */
class CanceledException extends OnlineConnectException
{
    public const CONNECT_CODE = 'canceled';
}
