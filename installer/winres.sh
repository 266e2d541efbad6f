#!/usr/bin/env bash
# Writes the Windows resources of every shipped exe: version information from
# installer/version.sh, the application manifest (installer/resources/app.manifest) and the
# app icon, compiled with mingw's windres into cmd/<name>/rsrc_windows_amd64.syso, which the
# Go linker embeds. `make windows` runs it before building; the .syso files are generated,
# never committed.
#
#   installer/winres.sh                  both shipped exes
#   OUT=dir installer/winres.sh NAME     one exe's .syso into dir (tests)
# MANUFACTURER sets CompanyName (sign.sh passes the certificate's subject).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
die() { echo "winres: $*" >&2; exit 1; }
windres=${WINDRES:-x86_64-w64-mingw32-windres}
command -v "$windres" >/dev/null || die "$windres is not installed; apt-get install binutils-mingw-w64-x86-64 (comes with gcc-mingw-w64-x86-64)."

file_version=$(installer/version.sh --file)
IFS=. read -r v1 v2 v3 v4 <<<"$file_version"
gitversion=$(git describe --tags --always --dirty 2>/dev/null || echo "$file_version")
company=${MANUFACTURER:-ClinicPro}
year=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y 2>/dev/null || date -u +%Y)

# name description
declare -A description=(
	[clinicpro]="ClinicPro Images agent and command line"
	[clinicpro-tray]="ClinicPro Images"
)
names=("$@")
((${#names[@]})) || names=(clinicpro clinicpro-tray)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The icon: an .ico wrapping assets/app.png (Windows Vista and later read PNG inside ICO).
png=assets/app.png
be32() { od -An -tu4 --endian=big -j "$2" -N 4 "$1" | tr -d ' '; }
le16() { printf '\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
w=$(be32 "$png" 16) h=$(be32 "$png" 20)
{
	printf "$(le16 0)$(le16 1)$(le16 1)"
	printf "$(printf '\\x%02x\\x%02x' $((w & 255)) $((h & 255)))\\x00\\x00$(le16 1)$(le16 32)$(le32 "$(stat -c %s "$png")")$(le32 22)"
	cat "$png"
} >"$work/app.ico"

for name in "${names[@]}"; do
	desc=${description[$name]:-}
	[[ -n $desc ]] || die "unknown exe $name; add its description to installer/winres.sh."
	out=${OUT:-cmd/$name}
	[[ -d $out ]] || die "$out does not exist."
	sed -e "s/@NAME@/ClinicPro.$name/" -e "s/@VERSION@/$file_version/" installer/resources/app.manifest >"$work/$name.manifest"
	cat >"$work/$name.rc" <<RC
#include <winver.h>
1 24 "$name.manifest"
1 ICON "app.ico"
VS_VERSION_INFO VERSIONINFO
FILEVERSION $v1,$v2,$v3,$v4
PRODUCTVERSION $v1,$v2,$v3,$v4
FILEFLAGSMASK 0x3fL
FILEFLAGS 0x0L
FILEOS VOS_NT_WINDOWS32
FILETYPE VFT_APP
FILESUBTYPE 0x0L
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "140904b0"
    BEGIN
      VALUE "CompanyName", "$company"
      VALUE "FileDescription", "$desc"
      VALUE "FileVersion", "$file_version"
      VALUE "InternalName", "$name"
      VALUE "LegalCopyright", "Copyright (C) $year $company"
      VALUE "OriginalFilename", "$name.exe"
      VALUE "ProductName", "ClinicPro Images"
      VALUE "ProductVersion", "$file_version ($gitversion)"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x1409, 1200
  END
END
RC
	(cd "$work" && "$windres" -O coff -F pe-x86-64 -i "$name.rc" -o "$name.syso") || die "windres failed on $name's resources."
	# Renamed into place, so a build reading the folder meanwhile sees the old or the new file whole.
	cp "$work/$name.syso" "$out/.rsrc_windows_amd64.syso.tmp"
	mv -f "$out/.rsrc_windows_amd64.syso.tmp" "$out/rsrc_windows_amd64.syso"
	echo "winres: $out/rsrc_windows_amd64.syso ($file_version)" >&2
done
