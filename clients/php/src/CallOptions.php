<?php

declare(strict_types=1);

namespace OnlineConnect\Client;

/**
 * Per-call settings: the request id and the time budget.
 *
 *     $client->getOrder($customer, $order, options: new CallOptions(requestId: $pageRequestId, timeout: 2.0));
 */
final class CallOptions
{
    /**
     * @param string|null $requestId sent as x-request-id; 1-64 characters A-Z a-z 0-9 . _ : - (take the shop's own
     *     request id). Gateway and agent log it, so the merchant's IT can find the call. Null: a random one.
     * @param float|null $timeout seconds for the whole call, the automatic retry included; null: the client's
     *     default. Sent to the gateway as Connect-Timeout-Ms, so the ERP stops working on it when it passes.
     */
    public function __construct(
        public readonly ?string $requestId = null,
        public readonly ?float $timeout = null,
    ) {
        if ($requestId !== null && preg_match('/^[A-Za-z0-9._:-]{1,64}$/', $requestId) !== 1) {
            throw new \InvalidArgumentException('requestId must be 1-64 characters of A-Z a-z 0-9 . _ : -');
        }
        if ($timeout !== null && !($timeout > 0)) {
            throw new \InvalidArgumentException('timeout must be a positive number of seconds');
        }
    }
}
