#!/usr/bin/env bash
# Authenticode-signs the Windows binaries, builds the MSI around the signed binaries, then signs
# the MSI. Order matters: the MSI embeds the exes, and build-msi.sh patches the database, so the
# MSI signature must be the last thing written.
#
# Certificate, from the environment (never from a file in the repository):
#   SIGN_PFX=cert.pfx SIGN_PASS=...                 a PKCS#12 bundle and its password, or
#   SIGN_CERT=cert.pem SIGN_KEY=key.pem [SIGN_PASS] a certificate chain and its private key
#   SIGN_TIMESTAMP_URL=http://...                   optional RFC 3161 timestamp server, so the
#                                                   signatures outlive the certificate
# Also honours WINBIN, DIST and TOOLBAR_ICON like build-msi.sh. Prints the MSI path last.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

WINBIN=${WINBIN:-bin/windows}
DIST=${DIST:-dist}

die() { echo "sign: $*" >&2; exit 1; }

command -v osslsigncode >/dev/null || die "osslsigncode is not installed; apt-get install osslsigncode."

cred=()
if [[ -n ${SIGN_PFX:-} ]]; then
	[[ -f $SIGN_PFX ]] || die "SIGN_PFX=$SIGN_PFX does not exist; point it at the code-signing .pfx."
	cred=(-pkcs12 "$SIGN_PFX")
elif [[ -n ${SIGN_CERT:-} && -n ${SIGN_KEY:-} ]]; then
	[[ -f $SIGN_CERT && -f $SIGN_KEY ]] || die "SIGN_CERT or SIGN_KEY does not exist; point them at the PEM certificate and key."
	cred=(-certs "$SIGN_CERT" -key "$SIGN_KEY")
else
	die "no signing certificate: set SIGN_PFX and SIGN_PASS, or SIGN_CERT and SIGN_KEY (docs/rollout.md, 'For whoever builds the MSI')."
fi
# The password travels through a file rather than argv, so ps cannot show it.
passfile=
cleanup() { [[ -n $passfile ]] && rm -f "$passfile"; [[ -n ${signed:-} ]] && rm -rf "$signed"; return 0; }
trap cleanup EXIT
if [[ -n ${SIGN_PASS:-} ]]; then
	passfile=$(mktemp)
	printf '%s' "$SIGN_PASS" >"$passfile"
	cred+=(-readpass "$passfile")
fi
ts=()
[[ -n ${SIGN_TIMESTAMP_URL:-} ]] && ts=(-ts "$SIGN_TIMESTAMP_URL")

sign() { # in out
	osslsigncode sign "${cred[@]}" "${ts[@]}" -h sha256 \
		-n "ClinicPro Images" -i "https://clinicpro.co.nz" -in "$1" -out "$2" >/dev/null \
		|| die "osslsigncode could not sign $1 (wrong password or a certificate without its key?)."
}

signed=$(mktemp -d)
for exe in clinicpro.exe clinicpro-tray.exe; do
	[[ -s $WINBIN/$exe ]] || die "missing $WINBIN/$exe; run 'make windows' first."
	sign "$WINBIN/$exe" "$signed/$exe"
done
mkdir -p "$DIST/signed"
cp "$signed"/*.exe "$DIST/signed/"

msi=$(WINBIN="$signed" DIST="$DIST" installer/build-msi.sh | tail -n 1)
sign "$msi" "$msi.signing"
mv "$msi.signing" "$msi"
echo "signed $DIST/signed/*.exe and $msi" >&2
echo "$msi"
