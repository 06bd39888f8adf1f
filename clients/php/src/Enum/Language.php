<?php

declare(strict_types=1);

namespace OnlineConnect\Client\Enum;

/**
 * onlineconnect.v1.Language: Language of the human-readable labels in an answer.
 *
 * Case values are the proto enum names, as the JSON answers carry them; cases are in proto number order.
 */
enum Language: string
{
    use ProtoEnum;

    /** Not set: the tenant's default language (German unless configured otherwise). */
    case UNSPECIFIED = 'LANGUAGE_UNSPECIFIED';

    /** German labels ("In Bearbeitung"). */
    case DE = 'LANGUAGE_DE';

    /** English labels ("In processing"). */
    case EN = 'LANGUAGE_EN';
}
