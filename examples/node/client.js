// Sample integrator client (Node.js, npm package `soap`): one Kennisgeving from a debt service
// to a creditor.
//
//   npm ci
//   node client.js [HUB_URL] [CERTS_DIR]
//
// HUB_URL defaults to $SKP_HUB_URL or https://localhost:8443; CERTS_DIR to $SKP_CERTS or the
// repository's certs/ (the development PKI `make run` creates). It prints metadata only: ids,
// types and states, never names or amounts. Exit code 0 when every step worked, 1 otherwise.
// node-soap wants base64 text for xs:base64Binary fields (e.g. a Saldoverzoek's
// Toestemmingsverklaring); a Kennisgeving has none.
'use strict';

const crypto = require('node:crypto');
const path = require('node:path');
const soap = require('soap');

const WSDL = path.join(__dirname, '../../wsdl/schuldregeling.wsdl'); // checked in; no ?wsdl fetch
// The demo participants of `make run` have the same ids on every machine.
const SHV = '505122d8-3c47-55bc-b39f-97d17856c9bc'; // Gemeente Voorbeeld (debt service)
const CREDITOR = 'Energie BV, unit Noord'; // a demo creditor, found in the address book

const hub = (process.argv[2] || process.env.SKP_HUB_URL || 'https://localhost:8443').replace(/\/$/, '');
const certs = process.argv[3] || process.env.SKP_CERTS || path.join(__dirname, '../../certs');

/** The schuldregeling service, called with the client certificate of `who`. */
async function connect(who) {
  const client = await soap.createClientAsync(WSDL, { endpoint: `${hub}/schuldregeling` });
  // Key, certificate and the hub's CA (and only that CA) for mutual TLS.
  client.setSecurity(new soap.ClientSSLSecurity(
    path.join(certs, `${who}.key`), path.join(certs, `${who}.pem`), path.join(certs, 'ca.pem'),
    { rejectUnauthorized: true }));
  return client;
}

function expect(ok, what) {
  if (!ok) throw new Error(`failed: ${what}`);
}

async function main() {
  const shv = await connect('shv');
  const creditor = await connect('energie-noord');

  // 1. Ping: the hub answers with the participant your certificate belongs to.
  // Every *Async call resolves to [result, rawResponse, soapHeader, rawRequest].
  const [{ PingAntwoord: ping }] = await shv.PingAsync({ Tekst: 'hallo' });
  console.log(`ping: DeelnemerId=${ping.DeelnemerId} Rol=${ping.Rol}`);

  // 2. Find the creditor in the address book: its id, and whether it uses the BSN (then it
  //    gets a KennisgevingPubliek instead of a Kennisgeving).
  const [{ Deelnemers: found }] = await shv.ZoekDeelnemersAsync({ Naam: 'energie', Rol: 'SE' });
  const entry = [].concat(found.Deelnemer || []).find((d) => d.Naam === CREDITOR);
  expect(entry !== undefined, 'the creditor is in the address book');
  expect(String(entry.GebruiktBsn) === 'false', 'the creditor takes a Kennisgeving');
  console.log(`found: DeelnemerId=${entry.DeelnemerId} Rol=${entry.Rol} GebruiktBsn=false`);

  // 3. Send a Kennisgeving. The Kenmerk is your own idempotency key: sending again with the
  //    same Kenmerk returns the first receipt (Herhaald=true) and stores nothing new.
  const kenmerk = `SAMPLE-JS-${crypto.randomBytes(6).toString('hex')}`;
  const today = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Amsterdam' }).format(new Date());
  const [{ Ontvangstbewijs: receipt }] = await shv.VerstuurKennisgevingAsync({
    Header: { Kenmerk: kenmerk, Ontvanger: entry.DeelnemerId,
      ConversatieReferentienummer: crypto.randomUUID() }, // new case: new conversation
    Bericht: { KlantnummerSHV: 'KL-0001', DatumAanmelding: today,
      Klant: { Achternaam: 'Voorbeeld', Geboortedatum: '1980-01-01' },
      Adreskeuze: { Woonadres: { Huisnummer: '1', Postcode: '1234 AB', Woonplaats: 'Voorbeeld' } },
      Contactpersoon: { Naam: 'Team Schuldhulp' } },
  });
  const id = receipt.BerichtId;
  console.log(`sent: BerichtId=${id} Kenmerk=${kenmerk} Herhaald=${receipt.Herhaald} ` +
    `UiterlijkOphalenOp=${receipt.UiterlijkOphalenOp.toISOString()}`);

  // 4. As the creditor: list the mailbox (oldest first; page on with Na=Volgende).
  const [{ Berichtenlijst: listing }] = await creditor.BerichtenlijstAsync(
    { Berichttype: 'Kennisgeving', Maximum: 500 });
  const mine = [].concat(listing.Bericht || []).filter((m) => m.BerichtId === id);
  expect(mine.length === 1, `message ${id} is not in the creditor's mailbox`);
  console.log(`listed: BerichtId=${id} Berichttype=${mine[0].Berichttype} ` +
    `Status=${mine[0].Status} Achterstand=${listing.Achterstand}`);

  // 5. Fetch it: the content is in the element named after its type. Fetching is
  //    repeatable until you confirm, so store the content first, then confirm.
  const [{ OpgehaaldBericht: fetched }] = await creditor.HaalBerichtOpAsync({ BerichtId: id });
  expect(fetched.Kennisgeving !== undefined, 'the fetched message has no Kennisgeving');
  const meta = fetched.Metadata;
  console.log(`fetched: BerichtId=${meta.BerichtId} Berichttype=${meta.Berichttype} ` +
    `Status=${meta.Status} Afzender=${meta.Afzender}`);

  // 6. Confirm: the hub deletes the content now and keeps only the metadata.
  const [{ BerichtMetadata: confirmed }] = await creditor.BevestigOntvangstAsync({ BerichtId: id });
  expect(confirmed.Status === 'confirmed', `state after confirming is ${confirmed.Status}`);
  console.log(`confirmed: BerichtId=${confirmed.BerichtId} Status=${confirmed.Status}`);

  // 6. The content is gone now: fetching again is refused with a fault. Compare its Code;
  //    quote its RequestId to the hub's operator.
  const refusal = await creditor.HaalBerichtOpAsync({ BerichtId: id }).then(
    () => { throw new Error('a fetch after the confirm was not refused'); },
    (err) => fout(err));
  expect(refusal && refusal.Code === 'Client.InvalidState', 'the fault is not Client.InvalidState');
  console.log(`refused: Code=${refusal.Code} RequestId=${refusal.RequestId}`);
}

/** The detail of a hub fault, the WSDL's Fout element (Code, Melding, RequestId), or null. */
function fout(err) {
  const fault = err.root && err.root.Envelope && err.root.Envelope.Body.Fault;
  if (!fault) throw err; // TLS, network, files
  return (fault.detail && fault.detail.Fout) || null;
}

main().catch((err) => {
  const fault = err.root && err.root.Envelope && err.root.Envelope.Body.Fault;
  if (fault) { // a refusal: a stable code and a RequestId
    const requestId = (fault.detail && fault.detail.Fout && fault.detail.Fout.RequestId) || '-';
    console.error(`fault: ${fault.faultcode} ${fault.faultstring} (RequestId ${requestId})`);
  } else { // TLS, network, files
    console.error(`error: ${err.message}`);
  }
  process.exitCode = 1;
});
