#!/bin/sh
# Build and run the C# sample: mono's wsdl generates the proxy of the checked-in WSDL into
# build/, openssl exports each client certificate as PKCS#12 in the legacy encryption mono and
# .NET Framework read (OpenSSL 3's default AES-256 PBES2 they cannot), mcs compiles, mono runs.
# Arguments go to Client.exe; the certificates come from its CERTS_DIR argument or $SKP_CERTS.
#   apt-get install mono-devel openssl
set -eu
cd "$(dirname "$0")"
certs=${2:-${SKP_CERTS:-../../certs}}
rm -rf build && mkdir build
wsdl -nologo -namespace:Skp.Schuldregeling -out:build/Schuldregeling.cs \
    ../../wsdl/schuldregeling.wsdl >/dev/null
for who in shv energie-noord; do
    openssl pkcs12 -export -in "$certs/$who.pem" -inkey "$certs/$who.key" \
        -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 \
        -passout pass:skp-sample -out "build/$who.p12"
done
mcs -nologo -r:System.Web.Services -r:System.Xml -out:build/Client.exe \
    build/Schuldregeling.cs Client.cs
exec mono build/Client.exe "$@"
