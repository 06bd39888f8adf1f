<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Model;

use OnlineConnect\Client\Internal\Json;

/** An exact amount of money; never a float. (onlineconnect.v1.Money) */
final class Money
{
    /**
     * @param int $amountMinor Amount in the currency's minor unit (cents for EUR): 114,45 € is 11445.
     * @param string $currency ISO 4217 currency code, e.g. "EUR".
     * @param string $decimal The same amount as a decimal string with a dot ("114.45").
     */
    public function __construct(
        public readonly int $amountMinor,
        public readonly string $currency,
        public readonly string $decimal,
    ) {
    }

    /** @param array<string, mixed> $j the message in proto3 JSON */
    public static function fromJson(array $j): self
    {
        return new self(
            Json::int($j, 'amountMinor'),
            Json::str($j, 'currency'),
            Json::str($j, 'decimal'),
        );
    }

    /** The amount as a German page writes it: "114,45 €", "1.299,00 €" (other currencies: "114,45 CHF"). */
    public function formatDe(): string
    {
        $decimal = $this->decimal !== '' ? $this->decimal : sprintf('%.2F', $this->amountMinor / 100);
        $negative = str_starts_with($decimal, '-');
        [$whole, $fraction] = array_pad(explode('.', ltrim($decimal, '-'), 2), 2, '');
        $text = ($negative ? '-' : '') . number_format((float) $whole, 0, ',', '.');
        $text .= $fraction !== '' ? ',' . $fraction : '';
        return $text . ' ' . ($this->currency === 'EUR' ? '€' : $this->currency);
    }
}
