<?php
// Sample integrator client (PHP SoapClient): one Kennisgeving from a debt service to a creditor.
//
//   apt-get install php-cli php-soap php-xml      (or your distribution's equivalent)
//   php client.php [HUB_URL] [CERTS_DIR]
//
// HUB_URL defaults to $SKP_HUB_URL or https://localhost:8443; CERTS_DIR to $SKP_CERTS or the
// repository's certs/ (the development PKI `make run` creates). It prints metadata only: ids,
// types and states, never names or amounts. Exit code 0 when every step worked, 1 otherwise.

declare(strict_types=1);

const WSDL = __DIR__ . '/../../wsdl/schuldregeling.wsdl';  // checked in; no need to fetch ?wsdl
// The demo participants of `make run` have the same ids on every machine.
const SHV = '505122d8-3c47-55bc-b39f-97d17856c9bc';            // Gemeente Voorbeeld (debt service)
const CREDITOR = 'Energie BV, unit Noord';  // a demo creditor, found in the address book

$hub = rtrim($argv[1] ?? (getenv('SKP_HUB_URL') ?: 'https://localhost:8443'), '/');
$certs = $argv[2] ?? (getenv('SKP_CERTS') ?: __DIR__ . '/../../certs');

/** The schuldregeling service, called with the client certificate of $who. */
function connect(string $hub, string $certs, string $who): SoapClient
{
    $tls = stream_context_create(['ssl' => [
        'local_cert' => "$certs/$who.pem",
        'local_pk' => "$certs/$who.key",
        'cafile' => "$certs/ca.pem",                 // trust only the hub's CA
        'verify_peer' => true,
        'verify_peer_name' => true,
        'peer_name' => parse_url($hub, PHP_URL_HOST),
    ]]);
    return new SoapClient(WSDL, [
        'location' => "$hub/schuldregeling",         // the WSDL names :8443
        'stream_context' => $tls,
        'soap_version' => SOAP_1_1,
        'features' => SOAP_SINGLE_ELEMENT_ARRAYS,    // repeated elements are always arrays
        'exceptions' => true,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'connection_timeout' => 30,
    ]);
}

/** A random (version 4) UUID. */
function uuid4(): string
{
    $b = random_bytes(16);
    $b[6] = chr(ord($b[6]) & 0x0f | 0x40);
    $b[8] = chr(ord($b[8]) & 0x3f | 0x80);
    return vsprintf('%s%s-%s-%s-%s-%s%s%s', str_split(bin2hex($b), 4));
}

function expect(bool $ok, string $what): void
{
    if (!$ok) {
        fwrite(STDERR, "failed: $what\n");
        exit(1);
    }
}

try {
    $shv = connect($hub, $certs, 'shv');
    $creditor = connect($hub, $certs, 'energie-noord');

    // 1. Ping: the hub answers with the participant your certificate belongs to.
    $ping = $shv->Ping(['Tekst' => 'hallo'])->PingAntwoord;
    echo "ping: DeelnemerId={$ping->DeelnemerId} Rol={$ping->Rol}\n";

    // 2. Find the creditor in the address book: its id, and whether it uses the BSN (then it
    //    gets a KennisgevingPubliek instead of a Kennisgeving).
    $found = $shv->ZoekDeelnemers(['Naam' => 'energie', 'Rol' => 'SE'])->Deelnemers;
    $entries = array_values(array_filter($found->Deelnemer ?? [],
                                         fn($d) => $d->Naam === CREDITOR));
    expect(count($entries) === 1, 'the creditor is in the address book');
    $entry = $entries[0];
    expect(!$entry->GebruiktBsn, 'the creditor takes a Kennisgeving');
    echo "found: DeelnemerId={$entry->DeelnemerId} Rol={$entry->Rol} GebruiktBsn=false\n";

    // 3. Send a Kennisgeving. The Kenmerk is your own idempotency key: sending again with the
    //    same Kenmerk returns the first receipt (Herhaald=true) and stores nothing new.
    $kenmerk = 'SAMPLE-PHP-' . bin2hex(random_bytes(6));
    $today = (new DateTimeImmutable('now', new DateTimeZone('Europe/Amsterdam')))->format('Y-m-d');
    $receipt = $shv->VerstuurKennisgeving([
        'Header' => ['Kenmerk' => $kenmerk, 'Ontvanger' => $entry->DeelnemerId,
                     'ConversatieReferentienummer' => uuid4()],  // new case: new conversation
        'Bericht' => ['KlantnummerSHV' => 'KL-0001', 'DatumAanmelding' => $today,
                      'Klant' => ['Achternaam' => 'Voorbeeld', 'Geboortedatum' => '1980-01-01'],
                      'Adreskeuze' => ['Woonadres' => ['Huisnummer' => '1', 'Postcode' => '1234 AB',
                                                       'Woonplaats' => 'Voorbeeld']],
                      'Contactpersoon' => ['Naam' => 'Team Schuldhulp']],
    ])->Ontvangstbewijs;
    $id = $receipt->BerichtId;
    $repeated = $receipt->Herhaald ? 'true' : 'false';
    echo "sent: BerichtId=$id Kenmerk=$kenmerk Herhaald=$repeated "
        . "UiterlijkOphalenOp={$receipt->UiterlijkOphalenOp}\n";

    // 4. As the creditor: list the mailbox (oldest first; page on with Na=Volgende).
    $listing = $creditor->Berichtenlijst(['Berichttype' => 'Kennisgeving', 'Maximum' => 500])
        ->Berichtenlijst;
    $mine = array_values(array_filter($listing->Bericht ?? [], fn($m) => $m->BerichtId === $id));
    expect(count($mine) === 1, "message $id is not in the creditor's mailbox");
    echo "listed: BerichtId=$id Berichttype={$mine[0]->Berichttype} "
        . "Status={$mine[0]->Status} Achterstand={$listing->Achterstand}\n";

    // 5. Fetch it: the content is in the element named after its type. Fetching is
    //    repeatable until you confirm, so store the content first, then confirm.
    $fetched = $creditor->HaalBerichtOp(['BerichtId' => $id])->OpgehaaldBericht;
    expect(isset($fetched->Kennisgeving), 'the fetched message has no Kennisgeving');
    $meta = $fetched->Metadata;
    echo "fetched: BerichtId={$meta->BerichtId} Berichttype={$meta->Berichttype} "
        . "Status={$meta->Status} Afzender={$meta->Afzender}\n";

    // 6. Confirm: the hub deletes the content now and keeps only the metadata.
    $confirmed = $creditor->BevestigOntvangst(['BerichtId' => $id])->BerichtMetadata;
    expect($confirmed->Status === 'confirmed', "state after confirming is {$confirmed->Status}");
    echo "confirmed: BerichtId={$confirmed->BerichtId} Status={$confirmed->Status}\n";

    // 6. The content is gone now: fetching again is refused with a fault. Compare its Code;
    //    quote its RequestId to the hub's operator.
    try {
        $creditor->HaalBerichtOp(['BerichtId' => $id]);
        expect(false, 'a fetch after the confirm was not refused');
    } catch (SoapFault $fault) {
        $fout = $fault->detail->Fout ?? null;  // the WSDL's fault element
        expect(($fout->Code ?? null) === 'Client.InvalidState', "the fault is {$fault->faultcode}");
        echo "refused: Code={$fout->Code} RequestId={$fout->RequestId}\n";
    }
} catch (SoapFault $fault) {  // a refusal (stable code, RequestId) or a transport error
    $requestId = $fault->detail->Fout->RequestId ?? '-';
    fwrite(STDERR, "fault: {$fault->faultcode} {$fault->getMessage()} (RequestId $requestId)\n");
    exit(1);
}
