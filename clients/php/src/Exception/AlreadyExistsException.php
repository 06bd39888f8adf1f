<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `already_exists`: Not used by the Online Connect API (all calls are reads); here for completeness. */
class AlreadyExistsException extends OnlineConnectException
{
    public const CONNECT_CODE = 'already_exists';
}
