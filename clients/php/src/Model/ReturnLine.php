<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** One returned line. (onlineconnect.v1.ReturnLine) */
final class ReturnLine
{
    /**
     * @param int $lineNumber The order line's lineNumber.
     * @param int $quantity Units returned.
     * @param string $replacementArticleNumber For an exchange: article number of the replacement.
     * @param string $replacementSku For an exchange: variant SKU of the replacement.
     */
    public function __construct(
        public readonly int $lineNumber,
        public readonly int $quantity,
        public readonly string $replacementArticleNumber,
        public readonly string $replacementSku,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::int($j, 'lineNumber'),
            Json::int($j, 'quantity'),
            Json::str($j, 'replacementArticleNumber'),
            Json::str($j, 'replacementSku'),
        );
    }
}
