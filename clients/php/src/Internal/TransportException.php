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

    /**
     * True if the request cannot have left this machine: the host (or proxy) name did not resolve or the connection
     * was refused. A lost connection or a timeout may have come after the request was sent.
     */
    public function neverSent(): bool
    {
        return in_array(
            $this->getCode(),
            [CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT],
            true,
        );
    }
}
