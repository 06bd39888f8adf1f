<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `failed_precondition`: Not used by the Online Connect API; here for completeness. */
class FailedPreconditionException extends OnlineConnectException
{
    public const CONNECT_CODE = 'failed_precondition';
}
