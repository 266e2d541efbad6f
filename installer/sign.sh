#!/usr/bin/env bash
# Authenticode-signs the Windows binaries, builds the MSI around the signed binaries, then signs
# the MSI. Order matters: the MSI embeds the exes, and build-msi.sh patches the database, so the
# MSI signature must be the last thing written.
#
# From the environment (never from a file in the repository):
#   SIGN_TIMESTAMP_URL=http://...                  required: the certificate authority's RFC 3161
#                                                  timestamp server. Without a timestamp a signature
#                                                  dies with the certificate (one to three years)
#                                                  and every installed copy then shows "unknown
#                                                  publisher"; with one it stays valid.
# and one of three ways to reach the key:
#   SIGN_PFX=cert.pfx SIGN_PASS=...                 a PKCS#12 bundle and its password;
#   SIGN_CERT=cert.pem SIGN_KEY=key.pem [SIGN_PASS] a certificate chain and its private key;
#   SIGN_CERT=cert.pem SIGN_PKCS11_MODULE=/usr/lib/…/vendor-pkcs11.so SIGN_PKCS11_KEY='pkcs11:…'
#                                                   a hardware token or HSM (public CAs have issued
#                                                   code-signing keys only on those since June 2023):
#                                                   the vendor's PKCS#11 library and the key's RFC 7512
#                                                   URI, e.g. 'pkcs11:token=ClinicPro;object=codesign;type=private'
#                                                   (add ;pin-value=… or SIGN_PASS for the PIN).
# The MSI's Manufacturer is the certificate's subject (its CN), so Programs and Features, UAC and
# SmartScreen name one publisher; the exes' CompanyName must be the same (build them with
# MANUFACTURER='<CN>' make windows, which this checks).
# Also honours WINBIN, DIST and TOOLBAR_ICON like build-msi.sh. Prints the MSI path last.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

WINBIN=${WINBIN:-bin/windows}
DIST=${DIST:-dist}

die() { echo "sign: $*" >&2; exit 1; }

command -v osslsigncode >/dev/null || die "osslsigncode is not installed; apt-get install osslsigncode."
[[ -n ${SIGN_TIMESTAMP_URL:-} ]] || die "no SIGN_TIMESTAMP_URL: set it to your certificate authority's RFC 3161 timestamp server (its address is in the CA's signing instructions); a signature without a timestamp stops being trusted when the certificate expires."

cred=() certfile=
passfile=
cleanup() { [[ -n $passfile ]] && rm -f "$passfile"; [[ -n ${signed:-} ]] && rm -rf "$signed"; [[ -n ${certtmp:-} ]] && rm -f "$certtmp"; return 0; }
trap cleanup EXIT
# The password travels through a file rather than argv, so ps cannot show it.
if [[ -n ${SIGN_PASS:-} ]]; then
	passfile=$(mktemp)
	printf '%s' "$SIGN_PASS" >"$passfile"
fi
if [[ -n ${SIGN_PKCS11_MODULE:-} || -n ${SIGN_PKCS11_KEY:-} ]]; then
	[[ -n ${SIGN_PKCS11_MODULE:-} && -n ${SIGN_PKCS11_KEY:-} && -n ${SIGN_CERT:-} ]] \
		|| die "PKCS#11 signing needs SIGN_PKCS11_MODULE (the token vendor's library), SIGN_PKCS11_KEY (the key's pkcs11: URI) and SIGN_CERT (the certificate chain, PEM)."
	[[ -f $SIGN_PKCS11_MODULE ]] || die "SIGN_PKCS11_MODULE=$SIGN_PKCS11_MODULE does not exist; install the token vendor's PKCS#11 library."
	[[ $SIGN_PKCS11_KEY == pkcs11:* ]] || die "SIGN_PKCS11_KEY must be an RFC 7512 URI starting with pkcs11: (p11tool --list-all or pkcs11-tool --list-objects shows the token and object names)."
	[[ -f $SIGN_CERT ]] || die "SIGN_CERT=$SIGN_CERT does not exist; export the certificate chain from the token as PEM."
	cred=(-pkcs11module "$SIGN_PKCS11_MODULE" -certs "$SIGN_CERT" -key "$SIGN_PKCS11_KEY")
	[[ -n $passfile ]] && cred+=(-readpass "$passfile")
	certfile=$SIGN_CERT
elif [[ -n ${SIGN_PFX:-} ]]; then
	[[ -f $SIGN_PFX ]] || die "SIGN_PFX=$SIGN_PFX does not exist; point it at the code-signing .pfx."
	cred=(-pkcs12 "$SIGN_PFX")
	[[ -n $passfile ]] && cred+=(-readpass "$passfile")
	certtmp=$(mktemp)
	openssl pkcs12 -in "$SIGN_PFX" -nokeys -clcerts -passin "file:${passfile:-/dev/null}" -out "$certtmp" 2>/dev/null \
		|| die "cannot read the certificate in $SIGN_PFX (wrong SIGN_PASS?)."
	certfile=$certtmp
elif [[ -n ${SIGN_CERT:-} && -n ${SIGN_KEY:-} ]]; then
	[[ -f $SIGN_CERT && -f $SIGN_KEY ]] || die "SIGN_CERT or SIGN_KEY does not exist; point them at the PEM certificate and key."
	cred=(-certs "$SIGN_CERT" -key "$SIGN_KEY")
	[[ -n $passfile ]] && cred+=(-readpass "$passfile")
	certfile=$SIGN_CERT
else
	die "no signing certificate: set SIGN_PFX and SIGN_PASS, SIGN_CERT and SIGN_KEY, or SIGN_CERT with SIGN_PKCS11_MODULE and SIGN_PKCS11_KEY (docs/rollout.md, 'For whoever builds the MSI')."
fi

# The publisher: the signing certificate's CN (the first certificate in the file is the signer's).
publisher=$(openssl x509 -in "$certfile" -noout -subject -nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= *//p' | head -1)
[[ -n $publisher ]] || die "the certificate in $certfile has no subject CN to name the publisher."
for exe in clinicpro.exe clinicpro-tray.exe; do
	[[ -s $WINBIN/$exe ]] || die "missing $WINBIN/$exe; run 'make windows' first."
done
go run ./installer/pecheck -company "$publisher" "$WINBIN/clinicpro.exe" "$WINBIN/clinicpro-tray.exe" >/dev/null \
	|| die "the exes do not name the certificate's subject '$publisher' as their company (above); build them with MANUFACTURER='$publisher' make windows."

sign() { # in out
	osslsigncode sign "${cred[@]}" -ts "$SIGN_TIMESTAMP_URL" -h sha256 \
		-n "ClinicPro Images" -i "https://clinicpro.co.nz" -in "$1" -out "$2" >/dev/null \
		|| die "osslsigncode could not sign $1 (wrong password or PIN, a certificate without its key, or the timestamp server did not answer)."
}

signed=$(mktemp -d)
for exe in clinicpro.exe clinicpro-tray.exe; do
	sign "$WINBIN/$exe" "$signed/$exe"
done
mkdir -p "$DIST/signed"
cp "$signed"/*.exe "$DIST/signed/"

msi=$(WINBIN="$signed" DIST="$DIST" MANUFACTURER="$publisher" installer/build-msi.sh | tail -n 1)
sign "$msi" "$msi.signing"
mv "$msi.signing" "$msi"
echo "signed $DIST/signed/*.exe and $msi as '$publisher', timestamped by $SIGN_TIMESTAMP_URL" >&2
echo "$msi"
