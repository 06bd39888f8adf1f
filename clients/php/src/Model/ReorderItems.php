<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** The answer of GetReorderItems. (onlineconnect.v1.GetReorderItemsResponse) */
final class ReorderItems
{
    /**
     * @param list<ReorderItem> $items Lines that can go into the cart.
     * @param list<ReorderItem> $rejected Requested product lines that cannot be reordered, each with its reason.
     */
    public function __construct(
        public readonly array $items,
        public readonly array $rejected,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            array_map(ReorderItem::fromJson(...), Json::objList($j, 'items')),
            array_map(ReorderItem::fromJson(...), Json::objList($j, 'rejected')),
        );
    }
}
