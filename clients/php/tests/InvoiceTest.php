<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Tests;

use OnlineConnect\Client\Exception\NotFoundException;
use OnlineConnect\Client\Model\InvoicePdf;

/** Invoice PDFs through the GetInvoicePdf stream and through the plain download route, into PHP streams. */
final class InvoiceTest extends LiveTestCase
{
    public function testTheStreamWritesTheCheckedPdfIntoTheSink(): void
    {
        $sink = fopen('php://temp', 'w+b');
        $starts = [];
        $pdf = self::client()->getInvoicePdf(self::CUSTOMER, self::ORDER, self::INVOICE, $sink, function (InvoicePdf $meta) use (&$starts, $sink): void {
            $starts[] = [$meta, ftell($sink)];
        });
        rewind($sink);
        $bytes = (string) stream_get_contents($sink);
        self::assertStringStartsWith('%PDF-', $bytes);
        self::assertSame(strlen($bytes), $pdf->bytesWritten);
        self::assertSame($pdf->size, $pdf->bytesWritten);
        self::assertSame(hash('sha256', $bytes), $pdf->sha256);
        self::assertStringEndsWith('.pdf', $pdf->fileName);
        self::assertSame('application/pdf', $pdf->contentType);
        self::assertCount(1, $starts, 'onStart runs once');
        [$meta, $position] = $starts[0];
        self::assertSame(0, $position, 'onStart runs before the first byte is written');
        self::assertSame($pdf->fileName, $meta->fileName);
        self::assertSame($pdf->sha256, $meta->sha256, 'the announced SHA-256 is the one checked');
    }

    public function testThePlainDownloadGivesTheSameFile(): void
    {
        $client = self::client();
        $streamed = fopen('php://temp', 'w+b');
        $client->getInvoicePdf(self::CUSTOMER, self::ORDER, self::INVOICE, $streamed);
        $plain = fopen('php://temp', 'w+b');
        $pdf = $client->downloadInvoicePdf(self::CUSTOMER, self::ORDER, self::INVOICE, $plain);
        rewind($streamed);
        rewind($plain);
        $bytes = (string) stream_get_contents($plain);
        self::assertSame((string) stream_get_contents($streamed), $bytes);
        self::assertStringStartsWith('%PDF-', $bytes);
        self::assertSame('application/pdf', $pdf->contentType);
        self::assertStringEndsWith('.pdf', $pdf->fileName);
        self::assertSame(hash('sha256', $bytes), $pdf->sha256);
        self::assertSame(strlen($bytes), $pdf->bytesWritten);
    }

    public function testAnUnknownDocumentIsNotFoundAndWritesNothing(): void
    {
        $client = self::client();
        foreach (['getInvoicePdf', 'downloadInvoicePdf'] as $method) {
            $sink = fopen('php://temp', 'w+b');
            $started = false;
            try {
                $client->$method(self::CUSTOMER, self::ORDER, 'D-NO-SUCH', $sink, function () use (&$started): void {
                    $started = true;
                });
                self::fail("$method: expected NotFoundException");
            } catch (NotFoundException $e) {
                self::assertSame(5, $e->getCode());
            }
            self::assertFalse($started, "$method: onStart must not run");
            self::assertSame(0, ftell($sink), "$method: nothing written");
        }
    }

    public function testAnotherCustomersInvoiceIsNotFound(): void
    {
        $this->expectException(NotFoundException::class);
        self::client()->downloadInvoicePdf('4712', self::ORDER, self::INVOICE, fopen('php://temp', 'w+b'));
    }
}
