<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Enum\ReorderReason;
use OnlineConnect\Client\Internal\Json;

/**
 * An order line to put back into the cart, with current article data (or why it cannot be).
 * (onlineconnect.v1.ReorderItem)
 */
final class ReorderItem
{
    /**
     * @param int $lineNumber The order line it comes from.
     * @param string $articleNumber Article number to add to the cart.
     * @param string $sku Variant SKU to add, if the article has variants.
     * @param string $description Current article description.
     * @param ?Variant $variant Variant (colour, size).
     * @param int $quantity Quantity from the original order.
     * @param ?Money $currentPrice Current price; null when prices are hidden.
     * @param ReorderReason $reason Why the line cannot be reordered; UNSPECIFIED for reorderable items.
     * @param string $successorArticleNumber For a discontinued article: the successor's article number, if any.
     * @param string $successorDescription For a discontinued article: the successor's description.
     */
    public function __construct(
        public readonly int $lineNumber,
        public readonly string $articleNumber,
        public readonly string $sku,
        public readonly string $description,
        public readonly ?Variant $variant,
        public readonly int $quantity,
        public readonly ?Money $currentPrice,
        public readonly ReorderReason $reason,
        public readonly string $successorArticleNumber,
        public readonly string $successorDescription,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::int($j, 'lineNumber'),
            Json::str($j, 'articleNumber'),
            Json::str($j, 'sku'),
            Json::str($j, 'description'),
            Json::msg($j, 'variant', Variant::fromJson(...)),
            Json::int($j, 'quantity'),
            Json::msg($j, 'currentPrice', Money::fromJson(...)),
            ReorderReason::fromJson(Json::get($j, 'reason')),
            Json::str($j, 'successorArticleNumber'),
            Json::str($j, 'successorDescription'),
        );
    }
}
