<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * Connect code `internal`: A bug on the gateway or agent, or an answer this client cannot read (protocol error);
 * the request id finds it in the logs.
 */
class InternalException extends OnlineConnectException
{
    public const CONNECT_CODE = 'internal';
}
