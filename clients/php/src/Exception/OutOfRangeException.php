<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `out_of_range`: Not used by the Online Connect API; here for completeness. */
class OutOfRangeException extends OnlineConnectException
{
    public const CONNECT_CODE = 'out_of_range';
}
