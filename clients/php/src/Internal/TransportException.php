<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Internal;

/**
 * curl could not complete an exchange: no connection, connection lost, local timeout, TLS failure.
 *
 * @internal
 */
final class TransportException extends \RuntimeException
{
    /** True if curl gave up because the call's time budget was spent. */
    public function timedOut(): bool
    {
        return $this->getCode() === CURLE_OPERATION_TIMEDOUT;
    }
}
