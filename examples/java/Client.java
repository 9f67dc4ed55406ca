// Sample integrator client (Java, JAX-WS RI): one Kennisgeving from a debt service to a creditor.
//
//   apt-get install openjdk-17-jdk-headless jaxws     (wsimport and the JAX-WS RI 2.3 runtime)
//   ./run.sh [HUB_URL] [CERTS_DIR]
//
// run.sh generates the classes from the checked-in WSDL with wsimport, compiles and runs this.
// HUB_URL defaults to $SKP_HUB_URL or https://localhost:8443; CERTS_DIR to $SKP_CERTS or the
// repository's certs/ (the development PKI `make run` creates). It prints metadata only: ids,
// types and states, never names or amounts. Exit code 0 when every step worked, 1 otherwise.

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.Base64;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.xml.datatype.DatatypeFactory;
import javax.xml.ws.BindingProvider;
import javax.xml.ws.WebServiceException;

import nl.skp.schuldregeling.Adresboekvermelding;
import nl.skp.schuldregeling.Adreskeuze;
import nl.skp.schuldregeling.BerichtHeader;
import nl.skp.schuldregeling.BerichtMetadata;
import nl.skp.schuldregeling.BerichtenlijstAntwoord;
import nl.skp.schuldregeling.BevestigOntvangstAntwoord;
import nl.skp.schuldregeling.Contactpersoon;
import nl.skp.schuldregeling.Fout;
import nl.skp.schuldregeling.Fout_Exception;
import nl.skp.schuldregeling.Kennisgeving;
import nl.skp.schuldregeling.Klant;
import nl.skp.schuldregeling.OpgehaaldBericht;
import nl.skp.schuldregeling.Ontvangstbewijs;
import nl.skp.schuldregeling.PingAntwoord;
import nl.skp.schuldregeling.Rol;
import nl.skp.schuldregeling.Schuldregeling;
import nl.skp.schuldregeling.SchuldregelingService;
import nl.skp.schuldregeling.Woonadres;

public final class Client {
    // The demo participants of `make run` have the same ids on every machine.
    static final String CREDITOR = "Energie BV, unit Noord";  // a demo creditor of `make run`
    // The JAX-WS RI's request-context key for the TLS socket factory of one port (the JDK's
    // built-in copy of the RI spells it com.sun.xml.internal.ws...).
    static final String SSL_SOCKET_FACTORY = "com.sun.xml.ws.transport.https.client.SSLSocketFactory";

    public static void main(String[] args) throws Exception {
        String hub = (args.length > 0 ? args[0] : env("SKP_HUB_URL", "https://localhost:8443"))
                .replaceAll("/+$", "");
        Path certs = Paths.get(args.length > 1 ? args[1] : env("SKP_CERTS", "../../certs"));
        Path wsdl = Paths.get("../../wsdl/schuldregeling.wsdl");  // checked in; no ?wsdl fetch
        try {
            run(hub, certs, wsdl);
        } catch (Fout_Exception fault) {  // a refusal: a stable code and a RequestId
            Fout fout = fault.getFaultInfo();
            System.err.printf("fault: %s %s (RequestId %s)%n", fout.getCode(), fout.getMelding(),
                              fout.getRequestId());
            System.exit(1);
        } catch (WebServiceException | java.io.IOException | java.security.GeneralSecurityException e) {
            System.err.println("error: " + e);  // TLS, network, files
            System.exit(1);
        }
    }

    static void run(String hub, Path certs, Path wsdl) throws Exception {
        SchuldregelingService service = new SchuldregelingService(wsdl.toUri().toURL());
        Schuldregeling shv = connect(service, hub, certs, "shv");
        Schuldregeling creditor = connect(service, hub, certs, "energie-noord");
        DatatypeFactory dates = DatatypeFactory.newInstance();

        // 1. Ping: the hub answers with the participant your certificate belongs to.
        PingAntwoord ping = shv.ping("hallo");
        System.out.printf("ping: DeelnemerId=%s Rol=%s%n", ping.getDeelnemerId(), ping.getRol());

        // 2. Find the creditor in the address book: its id, and whether it uses the BSN (then
        //    it gets a KennisgevingPubliek instead of a Kennisgeving).
        Adresboekvermelding entry = shv.zoekDeelnemers("energie", null, null, Rol.SE, null, null,
                null).getDeelnemer().stream().filter(d -> d.getNaam().equals(CREDITOR))
                .findFirst().orElseThrow(() -> new IllegalStateException("no " + CREDITOR));
        expect(!entry.isGebruiktBsn(), "the creditor takes a Kennisgeving");
        System.out.printf("found: DeelnemerId=%s Rol=%s GebruiktBsn=%s%n", entry.getDeelnemerId(),
                entry.getRol().value(), entry.isGebruiktBsn());

        // 3. Send a Kennisgeving. The Kenmerk is your own idempotency key: sending again with
        //    the same Kenmerk returns the first receipt (Herhaald=true) and stores nothing new.
        String kenmerk = "SAMPLE-JAVA-" + HexFormat.of().formatHex(randomBytes(6));
        BerichtHeader header = new BerichtHeader();
        header.setKenmerk(kenmerk);
        header.setOntvanger(entry.getDeelnemerId());
        header.setConversatieReferentienummer(UUID.randomUUID().toString());  // a new case
        Kennisgeving bericht = new Kennisgeving();
        bericht.setKlantnummerSHV("KL-0001");
        bericht.setDatumAanmelding(dates.newXMLGregorianCalendar(
                LocalDate.now(ZoneId.of("Europe/Amsterdam")).toString()));
        Klant klant = new Klant();
        klant.setAchternaam("Voorbeeld");
        klant.setGeboortedatum(dates.newXMLGregorianCalendar("1980-01-01"));
        bericht.setKlant(klant);
        Woonadres adres = new Woonadres();
        adres.setHuisnummer("1");
        adres.setPostcode("1234 AB");
        adres.setWoonplaats("Voorbeeld");
        Adreskeuze adreskeuze = new Adreskeuze();
        adreskeuze.setWoonadres(adres);
        bericht.setAdreskeuze(adreskeuze);
        Contactpersoon contact = new Contactpersoon();
        contact.setNaam("Team Schuldhulp");
        bericht.setContactpersoon(contact);
        Ontvangstbewijs receipt = shv.verstuurKennisgeving(header, bericht);
        String id = receipt.getBerichtId();
        System.out.printf("sent: BerichtId=%s Kenmerk=%s Herhaald=%s UiterlijkOphalenOp=%s%n", id,
                          kenmerk, receipt.isHerhaald(), receipt.getUiterlijkOphalenOp());

        // 4. As the creditor: list the mailbox (oldest first; page on with Na=Volgende).
        BerichtenlijstAntwoord listing = creditor.berichtenlijst("Kennisgeving", null, 500);
        BerichtMetadata mine = listing.getBericht().stream()
                .filter(m -> m.getBerichtId().equals(id)).findFirst().orElse(null);
        expect(mine != null, "message " + id + " is not in the creditor's mailbox");
        System.out.printf("listed: BerichtId=%s Berichttype=%s Status=%s Achterstand=%d%n", id,
                          mine.getBerichttype(), mine.getStatus().value(),
                          listing.getAchterstand());

        // 5. Fetch it: the content is in the element named after its type. Fetching is
        //    repeatable until you confirm, so store the content first, then confirm.
        OpgehaaldBericht fetched = creditor.haalBerichtOp(id);
        expect(fetched.getKennisgeving() != null, "the fetched message has no Kennisgeving");
        BerichtMetadata meta = fetched.getMetadata();
        System.out.printf("fetched: BerichtId=%s Berichttype=%s Status=%s Afzender=%s%n",
                          meta.getBerichtId(), meta.getBerichttype(), meta.getStatus().value(),
                          meta.getAfzender());

        // 6. Confirm: the hub deletes the content now and keeps only the metadata.
        BevestigOntvangstAntwoord confirmed = creditor.bevestigOntvangst(id);
        expect(confirmed.getStatus().value().equals("confirmed"),
               "state after confirming is " + confirmed.getStatus().value());
        expect(!confirmed.isHerhaald(), "the first confirm says Herhaald");
        System.out.printf("confirmed: BerichtId=%s Status=%s%n", confirmed.getBerichtId(),
                          confirmed.getStatus().value());

        // 7. The content is gone now: fetching again is refused with a fault, typed by the
        //    WSDL's wsdl:fault. Compare its Code; quote its RequestId to the hub's operator.
        try {
            creditor.haalBerichtOp(id);
            expect(false, "a fetch after the confirm was not refused");
        } catch (Fout_Exception fault) {
            Fout fout = fault.getFaultInfo();
            expect("Client.InvalidState".equals(fout.getCode()), "the fault is " + fout.getCode());
            System.out.printf("refused: Code=%s RequestId=%s%n", fout.getCode(), fout.getRequestId());
        }
    }

    /** A port of the service with the client certificate of {@code who}: its own TLS context,
     *  so that two participants in one process never share a connection. */
    static Schuldregeling connect(SchuldregelingService service, String hub, Path certs, String who)
            throws Exception {
        Schuldregeling port = service.getSchuldregeling();
        var context = ((BindingProvider) port).getRequestContext();
        context.put(BindingProvider.ENDPOINT_ADDRESS_PROPERTY, hub + "/schuldregeling");
        context.put(SSL_SOCKET_FACTORY, tls(certs, who).getSocketFactory());
        context.put("com.sun.xml.ws.connect.timeout", 30_000);
        context.put("com.sun.xml.ws.request.timeout", 30_000);
        return port;
    }

    /** TLS with the PEM certificate and (PKCS#8) key of {@code who}, trusting only ca.pem. */
    static SSLContext tls(Path certs, String who) throws Exception {
        CertificateFactory x509 = CertificateFactory.getInstance("X.509");
        Certificate cert;
        Certificate ca;
        try (InputStream in = Files.newInputStream(certs.resolve(who + ".pem"))) {
            cert = x509.generateCertificate(in);
        }
        try (InputStream in = Files.newInputStream(certs.resolve("ca.pem"))) {
            ca = x509.generateCertificate(in);
        }
        KeyStore identity = KeyStore.getInstance("PKCS12");
        identity.load(null, null);
        char[] none = new char[0];
        identity.setKeyEntry(who, privateKey(certs.resolve(who + ".key")), none,
                             new Certificate[] {cert});
        KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keys.init(identity, none);
        KeyStore trusted = KeyStore.getInstance("PKCS12");
        trusted.load(null, null);
        trusted.setCertificateEntry("skp-ca", ca);
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys.getKeyManagers(), trust.getTrustManagers(), new SecureRandom());
        return context;
    }

    static PrivateKey privateKey(Path pem) throws Exception {
        String text = Files.readString(pem).replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(text));
        try {
            return KeyFactory.getInstance("EC").generatePrivate(spec);
        } catch (InvalidKeySpecException notEc) {  // `skp pki init-dev --key rsa`
            return KeyFactory.getInstance("RSA").generatePrivate(spec);
        }
    }

    static byte[] randomBytes(int n) {
        byte[] bytes = new byte[n];
        ThreadLocalRandom.current().nextBytes(bytes);
        return bytes;
    }

    static String env(String name, String fallback) {
        String value = System.getenv(name);
        return value == null || value.isEmpty() ? fallback : value;
    }

    static void expect(boolean ok, String what) {
        if (!ok) {
            System.err.println("failed: " + what);
            System.exit(1);
        }
    }
}
