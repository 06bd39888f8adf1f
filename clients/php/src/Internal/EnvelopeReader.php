<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Internal;

/**
 * Splits a Connect streaming body into its enveloped messages as the bytes arrive: each message is one flags byte,
 * a 4-byte big-endian length and that many bytes. Flag 0x01 marks a compressed message, 0x02 the end-of-stream
 * message (JSON with "error" and "metadata").
 *
 * @internal
 */
final class EnvelopeReader
{
    public const FLAG_COMPRESSED = 0x01;
    public const FLAG_END_STREAM = 0x02;

    private string $buffer = '';

    /** @param int $maxMessage the largest message accepted, in bytes */
    public function __construct(private readonly int $maxMessage = 16 * 1024 * 1024)
    {
    }

    /**
     * Adds received bytes; returns the messages completed by them.
     *
     * @return list<array{int, string}> [flags, payload] pairs
     * @throws \UnexpectedValueException if a message announces more than the limit
     */
    public function push(string $data): array
    {
        $this->buffer .= $data;
        $messages = [];
        while (strlen($this->buffer) >= 5) {
            $header = unpack('Cflags/Nlength', $this->buffer);
            $length = (int) $header['length'];
            if ($length > $this->maxMessage) {
                throw new \UnexpectedValueException(sprintf(
                    'stream message of %d bytes exceeds the limit of %d',
                    $length,
                    $this->maxMessage,
                ));
            }
            if (strlen($this->buffer) < 5 + $length) {
                break;
            }
            $messages[] = [(int) $header['flags'], substr($this->buffer, 5, $length)];
            $this->buffer = substr($this->buffer, 5 + $length);
        }
        return $messages;
    }

    /** True if bytes of an incomplete message are left over. */
    public function hasPartial(): bool
    {
        return $this->buffer !== '';
    }

    /** One message in its envelope. */
    public static function envelope(string $payload, int $flags = 0): string
    {
        return pack('CN', $flags, strlen($payload)) . $payload;
    }
}
