<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * Reading and writing a proto3 enum in its JSON form. Proto3 JSON carries enums as their names
 * ("ORDER_STATUS_DELIVERED"); parsers must also accept the number. A value this client does not know (the API
 * grew a new one) reads as the UNSPECIFIED case, so an older client keeps working.
 *
 * Requires the cases to be declared in proto number order, from 0 (tests/EnumsTest.php checks it).
 */
trait ProtoEnum
{
    /** The case for a JSON value: a name, a number, or null/absent (UNSPECIFIED, the proto3 default). */
    public static function fromJson(mixed $value): self
    {
        $cases = self::cases();
        if (is_string($value)) {
            return self::tryFrom($value) ?? $cases[0];
        }
        if (is_int($value)) {
            return $cases[$value] ?? $cases[0];
        }
        return $cases[0];
    }

    /** The proto enum number. */
    public function number(): int
    {
        return (int) array_search($this, self::cases(), true);
    }
}
