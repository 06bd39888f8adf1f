<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Exception;

/**
 * Connect code `resource_exhausted`: A rate limit or the tenant's in-flight cap refused the call. $retryAfter says
 * how many seconds to wait. Not retried automatically.
 */
class ResourceExhaustedException extends OnlineConnectException
{
    public const CONNECT_CODE = 'resource_exhausted';
}
