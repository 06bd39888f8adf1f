<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `aborted`: Not used by the Online Connect API; here for completeness. */
class AbortedException extends OnlineConnectException
{
    public const CONNECT_CODE = 'aborted';
}
