#!/bin/sh
# Build and run the Java sample: wsimport generates the classes of the checked-in WSDL into
# build/, javac compiles them with Client.java, java runs it. Arguments go to Client.
#   apt-get install openjdk-17-jdk-headless jaxws
# JAXWS_CLASSPATH names the JAX-WS RI 2.3 runtime (Debian's jaxws-rt.jar lists its dependencies).
set -eu
cd "$(dirname "$0")"
JAXWS_CLASSPATH=${JAXWS_CLASSPATH:-/usr/share/java/jaxws-rt.jar}
rm -rf build && mkdir -p build/src build/classes
wsimport -quiet -Xnocompile -s build/src -p nl.skp.schuldregeling ../../wsdl/schuldregeling.wsdl
javac -nowarn -encoding UTF-8 -cp "$JAXWS_CLASSPATH" -d build/classes \
    $(find build/src -name '*.java') Client.java
# The SAAJ factory named, so that the runtime does not warn about how it looks it up.
exec java -Djavax.xml.soap.SAAJMetaFactory=com.sun.xml.messaging.saaj.soap.SAAJMetaFactoryImpl \
    -cp "build/classes:$JAXWS_CLASSPATH" Client "$@"
