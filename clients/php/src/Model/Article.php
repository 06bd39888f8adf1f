<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** Article master data of a variant. (onlineconnect.v1.Article) */
final class Article
{
    /**
     * @param string $sku The variant's SKU ("851888-XS-KI").
     * @param string $articleNumber The article number without variant ("851888").
     * @param string $name Article name ("STEEDS Poloshirt Lilli").
     * @param string $colour Colour ("kirsch").
     * @param string $size Size ("XS").
     */
    public function __construct(
        public readonly string $sku,
        public readonly string $articleNumber,
        public readonly string $name,
        public readonly string $colour,
        public readonly string $size,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'sku'),
            Json::str($j, 'articleNumber'),
            Json::str($j, 'name'),
            Json::str($j, 'colour'),
            Json::str($j, 'size'),
        );
    }
}
