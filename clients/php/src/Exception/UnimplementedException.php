<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `unimplemented`: The gateway does not know the procedure (an older gateway, or a wrong base URL). */
class UnimplementedException extends OnlineConnectException
{
    public const CONNECT_CODE = 'unimplemented';
}
