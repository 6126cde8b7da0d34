#pragma once
// Private to pilot_dirac: X.509 names and times as DIRAC shows them, shared by the credential
// reader and the proxy delegation.

#include <openssl/x509.h>

#include <chrono>
#include <string>

namespace pilot::dirac {

// DIRAC's DN layout: "/C=ch/O=DIRAC/CN=x" (unknown attributes by their dotted OID).
std::string dn_text(const X509_NAME* name);
std::chrono::system_clock::time_point asn1_time_point(const ASN1_TIME* t);
// An RFC3820 proxy (proxyCertInfo) or a legacy Globus one (subject ends in CN=proxy/limited proxy).
bool is_proxy_certificate(X509* cert);

}  // namespace pilot::dirac
