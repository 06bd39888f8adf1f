<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** A page of a customer's order history (ListOrders), newest first. (onlineconnect.v1.ListOrdersResponse) */
final class OrderList
{
    /**
     * @param list<OrderSummary> $orders The page of orders.
     * @param string $nextPageToken Token for the next page; empty on the last page.
     */
    public function __construct(
        public readonly array $orders,
        public readonly string $nextPageToken,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            array_map(OrderSummary::fromJson(...), Json::objList($j, 'orders')),
            Json::str($j, 'nextPageToken'),
        );
    }

    /** True if there is another page (pass nextPageToken to listOrders()). */
    public function hasMore(): bool
    {
        return $this->nextPageToken !== '';
    }
}
