<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Internal;

use OnlineConnect\Client\Exception\DataLossException;
use OnlineConnect\Client\Model\InvoicePdf;

/**
 * Where an invoice PDF goes while it arrives: the caller's stream, a running SHA-256 and byte count, and the
 * caller's $onStart hook, run once with the file's metadata before the first byte is written.
 *
 * @internal
 */
final class PdfWriter
{
    private ?InvoicePdf $meta = null;

    private \HashContext $hash;

    private int $written = 0;

    /**
     * @param resource $sink
     * @param (callable(InvoicePdf): void)|null $onStart
     */
    public function __construct(private readonly mixed $sink, private readonly mixed $onStart)
    {
        if (!is_resource($sink) || get_resource_type($sink) !== 'stream') {
            throw new \InvalidArgumentException('sink must be a writable stream, e.g. fopen("php://output", "wb")');
        }
        $this->hash = hash_init('sha256');
    }

    /** True once the metadata arrived and $onStart ran: from then on a failed call cannot be retried. */
    public function started(): bool
    {
        return $this->meta !== null;
    }

    public function start(InvoicePdf $meta): void
    {
        $this->meta = $meta;
        if ($this->onStart !== null) {
            ($this->onStart)($meta);
        }
    }

    /** Writes a chunk into the sink, all of it. */
    public function write(string $data): void
    {
        hash_update($this->hash, $data);
        $this->written += strlen($data);
        while ($data !== '') {
            $n = fwrite($this->sink, $data);
            if ($n === false || $n === 0) {
                throw new \RuntimeException('could not write the invoice PDF into the sink');
            }
            $data = substr($data, $n);
        }
    }

    /**
     * The finished file's description, after checking it against what was announced.
     *
     * @param bool $checkSize compare the byte count with the announced size (if one was announced)
     * @throws DataLossException if size or SHA-256 differ from the announced ones
     */
    public function finish(string $procedure, string $requestId, bool $checkSize = true): InvoicePdf
    {
        $meta = $this->meta ?? throw new \LogicException('finish() before start()');
        $sha256 = hash_final($this->hash);
        if ($checkSize && $meta->size > 0 && $this->written !== $meta->size) {
            throw new DataLossException(
                "$procedure: invoice PDF announced with {$meta->size} bytes, {$this->written} arrived",
                $procedure,
                $requestId,
                200,
            );
        }
        if ($meta->sha256 !== '' && !hash_equals($meta->sha256, $sha256)) {
            $what = "$procedure: the invoice PDF's SHA-256 differs from the announced one";
            throw new DataLossException($what, $procedure, $requestId, 200);
        }
        return new InvoicePdf($meta->fileName, $meta->contentType, $meta->size, $sha256, $this->written);
    }
}
