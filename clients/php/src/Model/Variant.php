<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** Colour and size of an article variant. (onlineconnect.v1.Variant) */
final class Variant
{
    /**
     * @param string $colour Colour as the ERP names it ("kirsch").
     * @param string $size Size ("XS").
     */
    public function __construct(
        public readonly string $colour,
        public readonly string $size,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::str($j, 'colour'),
            Json::str($j, 'size'),
        );
    }
}
