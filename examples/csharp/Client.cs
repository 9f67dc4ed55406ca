// Sample integrator client (C#, a wsdl.exe proxy on mono or .NET Framework): one Kennisgeving
// from a debt service to a creditor.
//
//   apt-get install mono-devel openssl
//   ./run.sh [HUB_URL] [CERTS_DIR]
//
// run.sh generates the proxy from the checked-in WSDL with mono's wsdl, exports each client
// certificate as a PKCS#12 file mono can read, compiles with mcs and runs this. HUB_URL defaults
// to $SKP_HUB_URL or https://localhost:8443; CERTS_DIR to $SKP_CERTS or the repository's certs/,
// a development PKI of RSA keys (`make run PKI_KEY=rsa`): mono builds no chain over EC keys.
// It prints metadata only: ids, types and states, never names or amounts. Exit code 0 when
// every step worked, 1 otherwise.

using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Web.Services.Protocols;
using System.Xml;
using Skp.Schuldregeling;

static class Client
{
    // The demo participants of `make run` have the same ids on every machine.
    const string Creditor = "Energie BV, unit Noord";  // a demo creditor of `make run`
    const string Ns = "urn:skp:schuldregeling:2.0";
    // run.sh exports build/<name>.p12 with this password.
    const string Pkcs12Password = "skp-sample";

    static int Main(string[] args)
    {
        string hub = (args.Length > 0 ? args[0] : Env("SKP_HUB_URL", "https://localhost:8443")).TrimEnd('/');
        string certs = args.Length > 1 ? args[1] : Env("SKP_CERTS", "../../certs");
        try
        {
            var ca = new X509Certificate2(Path.Combine(certs, "ca.pem"));
            // Trust only the hub's CA, not the machine's store.
            ServicePointManager.ServerCertificateValidationCallback =
                (sender, cert, chain, errors) => IssuedBy(ca, cert, errors);
            Run(hub);
            return 0;
        }
        catch (SoapException fault)  // a refusal: a stable code and a RequestId
        {
            Console.Error.WriteLine($"fault: {fault.Code.Name} {fault.Message} (RequestId {Fout(fault, "RequestId")})");
        }
        catch (Exception e)  // TLS, network, files, a PKCS#12 file mono cannot read
        {
            Console.Error.WriteLine($"error: {e.GetType().Name}: {e.Message}");
        }
        return 1;
    }

    static void Run(string hub)
    {
        SchuldregelingService shv = Connect(hub, "shv"), creditor = Connect(hub, "energie-noord");

        // 1. Ping: the hub answers with the participant your certificate belongs to.
        PingAntwoord ping = shv.Ping(new Ping { Tekst = "hallo" }).PingAntwoord;
        Console.WriteLine($"ping: DeelnemerId={ping.DeelnemerId} Rol={ping.Rol}");

        // 2. Find the creditor in the address book: its id, and whether it uses the BSN (then it
        //    gets a KennisgevingPubliek instead of a Kennisgeving). An optional enumeration goes
        //    with its ...Specified flag, or it is not sent.
        Deelnemers found = shv.ZoekDeelnemers(new ZoekDeelnemers
        {
            Naam = "energie", Rol = Rol.SE, RolSpecified = true,
        }).Deelnemers;
        Adresboekvermelding entry = (found?.Deelnemer ?? new Adresboekvermelding[0])
            .FirstOrDefault(d => d.Naam == Creditor);
        Expect(entry != null, $"{Creditor} is not in the address book");
        Expect(!entry.GebruiktBsn, "the creditor takes a Kennisgeving");
        Console.WriteLine($"found: DeelnemerId={entry.DeelnemerId} Rol={entry.Rol} GebruiktBsn=false");

        // 3. Send a Kennisgeving. The Kenmerk is your own idempotency key: sending again with the
        //    same Kenmerk returns the first receipt (Herhaald=true) and stores nothing new.
        string kenmerk = "SAMPLE-CS-" + Guid.NewGuid().ToString("N").Substring(0, 12);
        var amsterdam = TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam");
        Ontvangstbewijs receipt = shv.VerstuurKennisgeving(new VerstuurKennisgeving
        {
            Header = new BerichtHeader
            {
                Kenmerk = kenmerk, Ontvanger = entry.DeelnemerId,
                ConversatieReferentienummer = Guid.NewGuid().ToString(),  // new case: new conversation
            },
            Bericht = new Kennisgeving
            {
                KlantnummerSHV = "KL-0001",
                DatumAanmelding = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, amsterdam).Date,
                Klant = new Klant { Achternaam = "Voorbeeld", Geboortedatum = new DateTime(1980, 1, 1) },
                Adreskeuze = new Adreskeuze
                {
                    Woonadres = new Woonadres { Huisnummer = "1", Postcode = "1234 AB", Woonplaats = "Voorbeeld" },
                },
                Contactpersoon = new Contactpersoon { Naam = "Team Schuldhulp" },
            },
        }).Ontvangstbewijs;
        string id = receipt.BerichtId;
        Console.WriteLine($"sent: BerichtId={id} Kenmerk={kenmerk} Herhaald={receipt.Herhaald.ToString().ToLowerInvariant()} " +
                          $"UiterlijkOphalenOp={receipt.UiterlijkOphalenOp.ToUniversalTime():yyyy-MM-ddTHH:mm:ssZ}");

        // 4. As the creditor: list the mailbox (oldest first; page on with Na=Volgende). An
        //    optional number goes with its ...Specified flag, or it is not sent.
        BerichtenlijstAntwoord listing = creditor.Berichtenlijst(new Berichtenlijst
        {
            Berichttype = "Kennisgeving", Maximum = 500, MaximumSpecified = true,
        }).Berichtenlijst;
        BerichtMetadata mine = (listing.Bericht ?? new BerichtMetadata[0]).FirstOrDefault(m => m.BerichtId == id);
        Expect(mine != null, $"message {id} is not in the creditor's mailbox");
        Console.WriteLine($"listed: BerichtId={id} Berichttype={mine.Berichttype} Status={mine.Status} " +
                          $"Achterstand={listing.Achterstand}");

        // 5. Fetch it: the content is in the element named after its type. Fetching is
        //    repeatable until you confirm, so store the content first, then confirm.
        OpgehaaldBericht fetched = creditor.HaalBerichtOp(new HaalBerichtOp { BerichtId = id }).OpgehaaldBericht;
        Expect(fetched.Kennisgeving != null, "the fetched message has no Kennisgeving");
        BerichtMetadata meta = fetched.Metadata;
        Console.WriteLine($"fetched: BerichtId={meta.BerichtId} Berichttype={meta.Berichttype} " +
                          $"Status={meta.Status} Afzender={meta.Afzender}");

        // 6. Confirm: the hub deletes the content now and keeps only the metadata.
        BevestigOntvangstAntwoord confirmed = creditor.BevestigOntvangst(new BevestigOntvangst { BerichtId = id }).BerichtMetadata;
        Expect(confirmed.Status == Berichtstatus.confirmed, $"state after confirming is {confirmed.Status}");
        Expect(!confirmed.Herhaald, "the first confirm says Herhaald");
        Console.WriteLine($"confirmed: BerichtId={confirmed.BerichtId} Status={confirmed.Status}");

        // 7. The content is gone now: fetching again is refused with a fault. Compare its Code
        //    (the fault's Detail holds the WSDL's Fout element); quote its RequestId.
        try
        {
            creditor.HaalBerichtOp(new HaalBerichtOp { BerichtId = id });
            Expect(false, "a fetch after the confirm was not refused");
        }
        catch (SoapException fault)
        {
            Expect(Fout(fault, "Code") == "Client.InvalidState", $"the fault is {fault.Code.Name}");
            Console.WriteLine($"refused: Code={Fout(fault, "Code")} RequestId={Fout(fault, "RequestId")}");
        }
    }

    /// A proxy with the client certificate of <paramref name="who"/>. Its own connection group:
    /// mono and .NET Framework pool TLS connections per host, not per certificate, so without
    /// it a second participant in the process would be sent over the first one's connection.
    static SchuldregelingService Connect(string hub, string who)
    {
        var service = new SchuldregelingService
        {
            Url = hub + "/schuldregeling",  // the WSDL names :8443
            ConnectionGroupName = who,
            Timeout = 30000,
        };
        service.ClientCertificates.Add(new X509Certificate2(Path.Combine("build", who + ".p12"), Pkcs12Password));
        return service;
    }

    /// Whether the hub's certificate chains to <paramref name="ca"/> (and names the host).
    static bool IssuedBy(X509Certificate2 ca, X509Certificate cert, SslPolicyErrors errors)
    {
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
            return false;
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        chain.ChainPolicy.ExtraStore.Add(ca);
        if (!chain.Build(new X509Certificate2(cert)))
            return false;
        return chain.ChainElements[chain.ChainElements.Count - 1].Certificate.Thumbprint == ca.Thumbprint;
    }

    /// A child of the fault's Fout element (Code, Melding, RequestId, BerichtId), or "-".
    static string Fout(SoapException fault, string name)
    {
        XmlNode value = fault.Detail?[ "Fout", Ns ]?[ name, Ns ];
        return value?.InnerText ?? "-";
    }

    static string Env(string name, string fallback)
    {
        string value = Environment.GetEnvironmentVariable(name);
        return string.IsNullOrEmpty(value) ? fallback : value;
    }

    static void Expect(bool ok, string what)
    {
        if (ok) return;
        Console.Error.WriteLine($"failed: {what}");
        Environment.Exit(1);
    }
}
