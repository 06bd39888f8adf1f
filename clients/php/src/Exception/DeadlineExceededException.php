<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * Connect code `deadline_exceeded`: The ERP did not answer within the call's timeout (reported by the gateway or,
 * if no answer came at all, by the client).
 */
class DeadlineExceededException extends OnlineConnectException
{
    public const CONNECT_CODE = 'deadline_exceeded';
}
