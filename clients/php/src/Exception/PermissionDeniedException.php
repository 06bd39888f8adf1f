<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/** Connect code `permission_denied`: The API key is valid but may not call this RPC: a configuration problem, alert. */
class PermissionDeniedException extends OnlineConnectException
{
    public const CONNECT_CODE = 'permission_denied';
}
