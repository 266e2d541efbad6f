#!/usr/bin/env bash
# CI's installer check: signs with a throwaway certificate and a throwaway RFC 3161 timestamp
# authority, builds the MSI around the signed binaries, verifies every signature and its
# timestamp, checks the exes' version resources and manifests (installer/pecheck) and the MSI's
# tables (check-msi.sh), signs once more through PKCS#11 (a SoftHSM token standing in for a
# hardware token), and proves that `make sign` refuses to sign without a timestamp.
#
# What "verified" means with throwaway certificates: osslsigncode verify is given the
# throwaway certificate as the only trusted root and the throwaway TSA's as the only timestamp
# root, so it checks that a signature and a timestamp are present, that the digests match the
# file's bytes (any change after signing fails), and who made them. It says nothing about a
# real publisher's chain; that is `make sign` with the practice-facing certificate, which
# Windows verifies on install.
#
# Honours WINBIN and TOOLBAR_ICON like build-msi.sh; output goes to a temporary DIST unless set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

die() { echo "test-msi: $*" >&2; exit 1; }
for tool in openssl osslsigncode msiextract softhsm2-util; do
	command -v "$tool" >/dev/null || die "$tool is not installed; apt-get install openssl osslsigncode msitools softhsm2 libengine-pkcs11-openssl (.ci/setup)."
done
WINBIN=${WINBIN:-bin/windows}

work=$(mktemp -d)
tsa_pid=
trap '[[ -n $tsa_pid ]] && kill "$tsa_pid" 2>/dev/null; rm -rf "$work"' EXIT
export DIST=${DIST:-$work/dist}

# The publisher's CN is what the exes already name as their company (MANUFACTURER at
# `make windows`, ClinicPro by default), as a real certificate's subject must.
publisher=${MANUFACTURER:-ClinicPro}
openssl req -x509 -newkey rsa:3072 -sha256 -days 2 -nodes \
	-subj "/O=$publisher/CN=$publisher" \
	-addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=codeSigning" \
	-keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null || die "openssl could not make a test certificate."
pass=$(openssl rand -hex 16)
openssl pkcs12 -export -inkey "$work/key.pem" -in "$work/cert.pem" -passout "pass:$pass" \
	-out "$work/test.pfx" || die "openssl could not bundle the test certificate."

# A timestamp authority of our own: a certificate for time stamping and openssl ts behind a
# loopback HTTP server (installer/testdata/tsa).
mkdir "$work/tsa"
openssl req -x509 -newkey rsa:2048 -sha256 -days 2 -nodes -subj "/CN=ClinicPro CI throwaway TSA" \
	-addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=critical,timeStamping" \
	-keyout "$work/tsa/key.pem" -out "$work/tsa/cert.pem" 2>/dev/null || die "openssl could not make a TSA certificate."
cat >"$work/tsa/tsa.cnf" <<CNF
[ tsa ]
default_tsa = ci_tsa
[ ci_tsa ]
dir = $work/tsa
serial = \$dir/serial
signer_cert = \$dir/cert.pem
signer_key = \$dir/key.pem
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ess_cert_id_alg = sha256
CNF
echo 01 >"$work/tsa/serial"
go build -o "$work/tsa-server" ./installer/testdata/tsa || die "could not build the test TSA."
"$work/tsa-server" -dir "$work/tsa" >"$work/tsa/url" 2>"$work/tsa/log" &
tsa_pid=$!
for _ in $(seq 100); do [[ -s $work/tsa/url ]] && break; sleep 0.1; done
tsa_url=$(head -1 "$work/tsa/url")
[[ $tsa_url == http://127.0.0.1:* ]] || die "the test TSA did not start: $(cat "$work/tsa/log")"

# `make sign` without a timestamp server refuses.
if out=$(SIGN_PFX="$work/test.pfx" SIGN_PASS="$pass" SIGN_TIMESTAMP_URL= installer/sign.sh 2>&1); then
	die "sign.sh signed without SIGN_TIMESTAMP_URL; signatures would die with the certificate."
fi
grep -q "SIGN_TIMESTAMP_URL" <<<"$out" || die "sign.sh refused without a timestamp URL but did not say why: $out"
echo "signing without a timestamp refused"

msi=$(SIGN_PFX="$work/test.pfx" SIGN_PASS="$pass" SIGN_TIMESTAMP_URL="$tsa_url" installer/sign.sh | tail -n 1)

verify() {
	local out
	if ! out=$(osslsigncode verify -CAfile "$work/cert.pem" -TSA-CAfile "$work/tsa/cert.pem" -in "$1" 2>&1); then
		echo "$out" >&2
		die "signature on $1 does not verify (output above)."
	fi
	grep -q 'Signature verification: ok' <<<"$out" || { echo "$out" >&2; die "no valid signature on $1."; }
	if grep -q 'Timestamp is not available' <<<"$out" || ! grep -qE 'Timestamp verified|Timestamp Server Signature verification is supported|Timestamp Server Signature verification: ok|Timestamp verification: ok' <<<"$out"; then
		echo "$out" >&2
		die "$1 has no verified timestamp; it would stop verifying when the certificate expires."
	fi
	echo "signature and timestamp ok: $(basename "$1")"
}
verify "$msi"
# The exes inside the MSI are the ones Windows runs: check those, not only the copies in dist/.
msiextract -C "$work/extracted" "$msi" >/dev/null || die "msiextract could not unpack $msi."
exes=()
for exe in clinicpro.exe clinicpro-tray.exe; do
	f=$(find "$work/extracted" -name "$exe" -print -quit)
	[[ -n $f ]] || die "$exe is not inside $msi."
	verify "$f"
	exes+=("$f")
done
file_version=$(installer/version.sh --file)
go run ./installer/pecheck -version "$file_version" -company "$publisher" "${exes[@]}" || die "the shipped exes' version resources or manifests are wrong (above)."

# Tampering must be caught: change one property in a copy of the signed MSI (the signature
# stream is kept) and expect verification to fail.
cp "$msi" "$work/tampered.msi"
msibuild "$work/tampered.msi" -q "UPDATE Property SET Value='0' WHERE Property='ARPNOMODIFY'" \
	|| die "msibuild could not modify the copy for the tamper check."
osslsigncode extract-signature -in "$work/tampered.msi" -out "$work/sig.der" >/dev/null 2>&1 \
	|| die "the tampered copy lost its signature stream, so the tamper check would prove nothing."
if osslsigncode verify -CAfile "$work/cert.pem" -TSA-CAfile "$work/tsa/cert.pem" -in "$work/tampered.msi" >/dev/null 2>&1; then
	die "a tampered MSI still verifies; the signature check is not checking anything."
fi
echo "tampered copy rejected"

EXPECT_MANUFACTURER="$publisher" EXPECT_FILE_VERSION="$file_version" installer/check-msi.sh "$msi"

# A hardware token: the same key in a SoftHSM token, reached only through PKCS#11.
export SOFTHSM2_CONF=$work/softhsm2.conf
mkdir "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\n' "$work/tokens" >"$SOFTHSM2_CONF"
pin=$(openssl rand -hex 4)
softhsm2-util --init-token --free --label clinicpro-ci --pin "$pin" --so-pin "$(openssl rand -hex 4)" >/dev/null \
	|| die "softhsm2-util could not make a token."
openssl pkcs8 -topk8 -nocrypt -in "$work/key.pem" -out "$work/key8.pem"
softhsm2-util --import "$work/key8.pem" --token clinicpro-ci --label codesign --id 01 --pin "$pin" >/dev/null \
	|| die "softhsm2-util could not import the test key."
rm "$work/key8.pem"
module=$(find /usr/lib -name libsofthsm2.so -print -quit)
[[ -n $module ]] || die "libsofthsm2.so not found."
msi11=$(DIST="$work/dist11" SIGN_CERT="$work/cert.pem" SIGN_PKCS11_MODULE="$module" \
	SIGN_PKCS11_KEY="pkcs11:token=clinicpro-ci;object=codesign;type=private;pin-value=$pin" \
	SIGN_TIMESTAMP_URL="$tsa_url" installer/sign.sh | tail -n 1)
verify "$msi11"
echo "test-msi: passed ($msi)"
