#!/usr/bin/env bash
# CI's installer check: signs with a throwaway self-signed certificate, builds the MSI around
# the signed binaries, verifies every signature, then checks the MSI's tables (check-msi.sh).
#
# What "verified" means with a self-signed certificate: osslsigncode verify is given the
# throwaway certificate as the only trusted root, so it checks that a signature is present, that
# the digest in it matches the file's bytes (any change after signing fails), and that it was made
# by that certificate. It says nothing about a real publisher's chain; that is `make sign` with
# the practice-facing certificate, which Windows verifies on install.
#
# Honours WINBIN and TOOLBAR_ICON like build-msi.sh; output goes to a temporary DIST unless set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

die() { echo "test-msi: $*" >&2; exit 1; }
for tool in openssl osslsigncode msiextract; do
	command -v "$tool" >/dev/null || die "$tool is not installed; apt-get install openssl osslsigncode msitools."
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DIST=${DIST:-$work/dist}

openssl req -x509 -newkey rsa:3072 -sha256 -days 2 -nodes \
	-subj "/CN=ClinicPro Images CI throwaway signing" \
	-addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || die "openssl could not make a test certificate."
pass=$(openssl rand -hex 16)
openssl pkcs12 -export -inkey "$work/key.pem" -in "$work/cert.pem" -passout "pass:$pass" \
	-out "$work/test.pfx" || die "openssl could not bundle the test certificate."

msi=$(SIGN_PFX="$work/test.pfx" SIGN_PASS="$pass" installer/sign.sh | tail -n 1)

verify() {
	local out
	if ! out=$(osslsigncode verify -CAfile "$work/cert.pem" -in "$1" 2>&1); then
		echo "$out" >&2
		die "signature on $1 does not verify (output above)."
	fi
	grep -q 'Signature verification: ok' <<<"$out" || { echo "$out" >&2; die "no valid signature on $1."; }
	echo "signature ok: $(basename "$1")"
}
verify "$msi"
# The exes inside the MSI are the ones Windows runs: check those, not only the copies in dist/.
msiextract -C "$work/extracted" "$msi" >/dev/null || die "msiextract could not unpack $msi."
for exe in clinicpro.exe clinicpro-tray.exe; do
	f=$(find "$work/extracted" -name "$exe" -print -quit)
	[[ -n $f ]] || die "$exe is not inside $msi."
	verify "$f"
done

# Tampering must be caught: change one property in a copy of the signed MSI (the signature
# stream is kept) and expect verification to fail.
cp "$msi" "$work/tampered.msi"
msibuild "$work/tampered.msi" -q "UPDATE Property SET Value='0' WHERE Property='ARPNOMODIFY'" \
	|| die "msibuild could not modify the copy for the tamper check."
osslsigncode extract-signature -in "$work/tampered.msi" -out "$work/sig.der" >/dev/null 2>&1 \
	|| die "the tampered copy lost its signature stream, so the tamper check would prove nothing."
if osslsigncode verify -CAfile "$work/cert.pem" -in "$work/tampered.msi" >/dev/null 2>&1; then
	die "a tampered MSI still verifies; the signature check is not checking anything."
fi
echo "tampered copy rejected"

installer/check-msi.sh "$msi"
echo "test-msi: passed ($msi)"
