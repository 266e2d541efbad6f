#!/usr/bin/env bash
# Builds the ClinicPro Images MSI from already cross-compiled Windows binaries.
#
#   installer/build-msi.sh            uses bin/windows, writes dist/ClinicProImages-<version>-x64.msi
#   WINBIN=dir DIST=dir TOOLBAR_ICON=file.png MSI_VERSION=a.b.c installer/build-msi.sh
#   MESA_DIR=dir   also ship Mesa's software OpenGL for Remote Desktop hosts without a GPU: the
#                  folder of a Mesa for Windows x64 build holding opengl32.dll and
#                  libgallium_wgl.dll (and libglapi.dll, for Mesa before 24); installed to
#                  Program Files\ClinicPro\mesa (docs/rollout.md, "Remote Desktop servers")
#
# Prints the path of the MSI on its last line of stdout. wixl (Debian's msitools) cannot express
# everything the package needs, so the database is patched afterwards with msibuild; anything
# that re-signs must happen after this script, because a patch would break a signature.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

WINBIN=${WINBIN:-bin/windows}
DIST=${DIST:-dist}

die() { echo "build-msi: $*" >&2; exit 1; }

for tool in wixl msibuild; do
	command -v "$tool" >/dev/null || die "$tool is not installed; install Debian's msitools (apt-get install msitools)."
done

# Only these two are shipped. alexsim is a development sandbox and must never reach a practice.
exes=(clinicpro.exe clinicpro-tray.exe)
missing=()
for exe in "${exes[@]}"; do
	[[ -s $WINBIN/$exe ]] || missing+=("$WINBIN/$exe")
done
((${#missing[@]} == 0)) || die "missing ${missing[*]}; run 'make windows' first (the tray needs the mingw cross-compiler), no installer is built without every binary."

# The Medtech toolbar icon: an explicit TOOLBAR_ICON, else assets/medtech-toolbar.png, else the
# single PNG under assets/ whose name mentions "toolbar".
icon=${TOOLBAR_ICON:-}
if [[ -z $icon ]]; then
	if [[ -f assets/medtech-toolbar.png ]]; then
		icon=assets/medtech-toolbar.png
	else
		mapfile -t found < <(find assets -iname '*toolbar*.png' 2>/dev/null | sort)
		((${#found[@]} == 1)) || die "expected one Medtech toolbar icon PNG under assets/ (assets/medtech-toolbar.png), found ${#found[@]}; set TOOLBAR_ICON=path/to/icon.png to choose."
		icon=${found[0]}
	fi
fi
[[ -f $icon ]] || die "toolbar icon $icon does not exist; set TOOLBAR_ICON to the Medtech toolbar PNG."
png_magic() { [[ $(head -c 8 "$1" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]; }
png_magic "$icon" || die "toolbar icon $icon is not a PNG; MT Icon Loader needs a PNG."

# The icon Programs and Features shows. An .ico that wraps the app PNG (Windows Vista and later
# read PNG inside ICO) rather than the tray exe, which the Icon table would store whole: 25 MB.
app_icon=${APP_ICON:-assets/app.png}
[[ -f $app_icon ]] || die "app icon $app_icon does not exist; set APP_ICON to a PNG of at most 256x256."
png_magic $app_icon || die "app icon $app_icon is not a PNG."

version=${MSI_VERSION:-$("$root/installer/version.sh")}
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "MSI version '$version' is not numeric MAJOR.MINOR.BUILD."
gitversion=$(git describe --tags --always --dirty 2>/dev/null || echo "$version")
# The publisher Programs and Features, UAC and SmartScreen show must be the code-signing
# certificate's subject: sign.sh passes it; unsigned builds say ClinicPro.
manufacturer=${MANUFACTURER:-ClinicPro}
help_url=${ARP_HELP_URL:-https://clinicpro.co.nz/support}
about_url=${ARP_ABOUT_URL:-https://clinicpro.co.nz}
contact=${ARP_CONTACT:-ClinicPro support}
# The tray's AppUserModelID, as FyneApp.toml (and the tray's AppID) name it.
aumid=$(sed -n 's/^[[:space:]]*ID[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' FyneApp.toml | head -1)
[[ -n $aumid ]] || die "no ID in FyneApp.toml for the tray's AppUserModelID."

# File.Version comes from each exe's version resource (installer/winres.sh, run by `make
# windows`): Windows Installer compares it to decide whether to replace a file, and
# inventory tools read it. wixl leaves the column empty, so it is read here and written below.
declare -A file_version
for exe in "${exes[@]}"; do
	file_version[$exe]=$(go run ./installer/pecheck -print-version "$WINBIN/$exe" 2>/dev/null) \
		|| die "$WINBIN/$exe has no version resource; build with 'make windows', which generates it (installer/winres.sh)."
done

# wixl resolves sources relative to the working directory only, so stage everything together.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
for exe in "${exes[@]}"; do cp "$WINBIN/$exe" "$stage/"; done
mesa=no mesa_glapi=no
if [[ -n ${MESA_DIR:-} ]]; then
	for dll in opengl32.dll libgallium_wgl.dll; do
		[[ -s $MESA_DIR/$dll ]] || die "MESA_DIR=$MESA_DIR has no $dll; point it at the x64 folder of a Mesa for Windows build."
	done
	[[ $(head -c 2 "$MESA_DIR/opengl32.dll") == MZ ]] || die "$MESA_DIR/opengl32.dll is not a Windows DLL."
	mkdir "$stage/mesa"
	cp "$MESA_DIR/opengl32.dll" "$MESA_DIR/libgallium_wgl.dll" "$stage/mesa/"
	mesa=yes
	if [[ -s $MESA_DIR/libglapi.dll ]]; then cp "$MESA_DIR/libglapi.dll" "$stage/mesa/"; mesa_glapi=yes; fi
fi
cp "$icon" "$stage/toolbar.png"
cp installer/clinicpro.wxs "$stage/"
# ICONDIR (reserved, type 1 = icon, one image) and one ICONDIRENTRY pointing at the PNG after
# them; a width or height of 256 is written as 0.
be32() { od -An -tu4 --endian=big -j "$2" -N 4 "$1" | tr -d ' '; }
le16() { printf '\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)); }
le32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
w=$(be32 "$app_icon" 16) h=$(be32 "$app_icon" 20)
((w <= 256 && h <= 256)) || die "app icon $app_icon is ${w}x${h}; an icon is at most 256x256."
{
	printf "$(le16 0)$(le16 1)$(le16 1)"
	printf "$(printf '\\x%02x\\x%02x' $((w & 255)) $((h & 255)))\\x00\\x00$(le16 1)$(le16 32)$(le32 "$(stat -c %s "$app_icon")")$(le32 22)"
	cat "$app_icon"
} >"$stage/app.ico"

(cd "$stage" && wixl -a x64 \
	-D Version="$version" -D GitVersion="$gitversion" -D BinDir=. -D ToolbarIcon=toolbar.png -D AppIcon=app.ico \
	-D Manufacturer="$manufacturer" -D HelpURL="$help_url" -D AboutURL="$about_url" -D Contact="$contact" \
	-D Mesa="$mesa" -D MesaGlapi="$mesa_glapi" \
	-o product.msi clinicpro.wxs) || die "wixl failed on installer/clinicpro.wxs (messages above)."

upgrade_code=$(sed -n 's/.*UpgradeCode="\([0-9A-F-]*\)".*/\1/p' installer/clinicpro.wxs | head -1)
[[ -n $upgrade_code ]] || die "no UpgradeCode in installer/clinicpro.wxs."

# What wixl cannot write:
#  - component conditions, so a rollout value is written only when given on the command line
#    (an upgrade without RELAYURL must not blank the agent's relay), and the Permanent attribute
#    (64-bit 256 + registry key path 4 + permanent 16 = 276), so a value the agent has not
#    consumed yet survives an upgrade;
#  - SecureCustomProperties: without it msiexec drops public properties on the way to the
#    elevated server process, and a GPO/Intune install would silently ignore RELAYURL;
#  - MsiHiddenProperties, so the enrolment code stays out of verbose install logs;
#  - MsiLockPermissionsEx (SDDL, so the well-known SIDs hold on non-English Windows where
#    "Administrators" has another name; LockPermissions' account names would fail there with
#    error 1609): the data folder for SYSTEM and Administrators only, protected from
#    ProgramData's "Users may read" and owned by SYSTEM even if a user created it first; Users
#    may read the toolbar icon folder (MT Icon Loader runs as the user); the Rollout key only
#    for SYSTEM (the agent) and Administrators, not every user in the seconds before the agent
#    spends the enrolment code. The agent's internal/datadir restores the same folder ACLs;
#    check-msi.sh compares these strings with the ones there;
#  - an Upgrade row that also replaces the same version, so rebuilding one commit and
#    reinstalling replaces the product rather than adding a second entry to Programs and Features;
#  - the Vital flag on the service (ErrorControl 0x8000 | normal 1), which wixl drops: a PC where
#    the service cannot be registered must fail the install, not report success without an agent;
#  - MsiServiceConfig (delayed automatic start) and MsiServiceConfigFailureActions (restart
#    after 5 s, 30 s and 60 s, count reset daily), applied by MsiConfigureServices between
#    InstallServices and StartServices, inside the transaction, rather than sc.exe;
#  - MsiShortcutProperty: the Start menu shortcut's System.AppUserModel.ID, so the tray's
#    notifications are native toasts attributed to ClinicPro Images;
#  - commit custom actions (wixl writes Execute="commit" as immediate): RemoveData and
#    RemoveSettings are 50 (exe named by a property) + 64 (ignore the exit code) + 512|1024
#    (commit, in the script) + 2048 (as SYSTEM) = 3698;
#  - RemoveExistingProducts inside the install transaction (wixl puts it before), so an upgrade
#    whose new agent fails to start rolls back to the old version instead of leaving nothing.
rollout=(RELAYURL ENROLCODE WATCHFOLDERS HCMHOST)
secure="WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;$(IFS=';'; echo "${rollout[*]}");REMOVEDATA"
folder_sddl='O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)'
toolbar_sddl='O:SYG:SYD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)'
key_sddl='D:PAI(A;CI;KA;;;SY)(A;CI;KA;;;BA)'
lock=(-q "CREATE TABLE \`MsiLockPermissionsEx\` (\`MsiLockPermissionsEx\` CHAR(72) NOT NULL, \`LockObject\` CHAR(72) NOT NULL, \`Table\` CHAR(32) NOT NULL, \`SDDL\` LONGCHAR NOT NULL, \`Condition\` CHAR(255) PRIMARY KEY \`MsiLockPermissionsEx\`)"
	-q "INSERT INTO MsiLockPermissionsEx (MsiLockPermissionsEx, LockObject, \`Table\`, SDDL) VALUES ('LockDataDir', 'DATADIR', 'CreateFolder', '$folder_sddl')"
	-q "INSERT INTO MsiLockPermissionsEx (MsiLockPermissionsEx, LockObject, \`Table\`, SDDL) VALUES ('LockToolbarDir', 'TOOLBARROOT', 'CreateFolder', '$toolbar_sddl')")
for value in RelayURL EnrolCode WatchFolders HCMHost; do
	lock+=(-q "INSERT INTO MsiLockPermissionsEx (MsiLockPermissionsEx, LockObject, \`Table\`, SDDL) VALUES ('LockRollout$value', 'Rollout$value', 'Registry', '$key_sddl')")
done
svc=(-q "CREATE TABLE \`MsiServiceConfig\` (\`MsiServiceConfig\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL, \`Event\` SHORT NOT NULL, \`ConfigType\` LONG NOT NULL, \`Argument\` CHAR(255), \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`MsiServiceConfig\`)"
	-q "INSERT INTO MsiServiceConfig (MsiServiceConfig, Name, Event, ConfigType, Argument, Component_) VALUES ('AgentDelayedStart', 'ClinicProAgent', 5, 3, '1', 'AgentExe')"
	-q "CREATE TABLE \`MsiServiceConfigFailureActions\` (\`MsiServiceConfigFailureActions\` CHAR(72) NOT NULL, \`Name\` CHAR(255) NOT NULL, \`Event\` SHORT NOT NULL, \`ResetPeriod\` LONG, \`RebootMessage\` CHAR(255), \`Command\` CHAR(255), \`Actions\` CHAR(255), \`DelayActions\` CHAR(255), \`Component_\` CHAR(72) NOT NULL PRIMARY KEY \`MsiServiceConfigFailureActions\`)"
	-q "INSERT INTO MsiServiceConfigFailureActions (MsiServiceConfigFailureActions, Name, Event, ResetPeriod, Actions, DelayActions, Component_) VALUES ('AgentRecovery', 'ClinicProAgent', 5, 86400, '1[~]1[~]1', '5000[~]30000[~]60000', 'AgentExe')"
	-q "INSERT INTO InstallExecuteSequence (Action, Sequence) VALUES ('MsiConfigureServices', 5850)"
	-q "CREATE TABLE \`MsiShortcutProperty\` (\`MsiShortcutProperty\` CHAR(72) NOT NULL, \`Shortcut_\` CHAR(72) NOT NULL, \`PropertyKey\` CHAR(255) NOT NULL, \`PropVariantValue\` CHAR(255) NOT NULL PRIMARY KEY \`MsiShortcutProperty\`)"
	-q "INSERT INTO MsiShortcutProperty (MsiShortcutProperty, Shortcut_, PropertyKey, PropVariantValue) VALUES ('TrayAppUserModelID', 'TrayStartMenu', '{9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3}, 5', '$aumid')")
msibuild "$stage/product.msi" "${lock[@]}" "${svc[@]}" \
	-q "UPDATE Component SET Condition='RELAYURL', Attributes=276 WHERE Component='RolloutRelayUrl'" \
	-q "UPDATE Component SET Condition='ENROLCODE', Attributes=276 WHERE Component='RolloutEnrolCode'" \
	-q "UPDATE Component SET Condition='WATCHFOLDERS', Attributes=276 WHERE Component='RolloutWatchFolders'" \
	-q "UPDATE Component SET Condition='HCMHOST', Attributes=276 WHERE Component='RolloutHcmHost'" \
	-q "UPDATE Property SET Value='$secure' WHERE Property='SecureCustomProperties'" \
	-q "INSERT INTO Property (Property, Value) VALUES ('MsiHiddenProperties', 'ENROLCODE')" \
	-q "DELETE FROM Upgrade WHERE ActionProperty='WIX_UPGRADE_DETECTED'" \
	-q "INSERT INTO Upgrade (UpgradeCode, VersionMax, Attributes, ActionProperty) VALUES ('{$upgrade_code}', '$version', 513, 'WIX_UPGRADE_DETECTED')" \
	-q "UPDATE InstallExecuteSequence SET Sequence=1510 WHERE Action='RemoveExistingProducts'" \
	-q "UPDATE CustomAction SET Type=3698 WHERE Action='RemoveData' OR Action='RemoveSettings'" \
	-q "UPDATE File SET Version='${file_version[clinicpro.exe]}', Language='5129' WHERE FileName='clinicpro.exe'" \
	-q "UPDATE File SET Version='${file_version[clinicpro-tray.exe]}', Language='5129' WHERE FileName='clinicpro-tray.exe'" \
	-q "UPDATE ServiceInstall SET ErrorControl=32769 WHERE Name='ClinicProAgent'" \
	|| die "msibuild could not patch the MSI tables."

mkdir -p "$DIST"
out="$DIST/ClinicProImages-$version-x64.msi"
mv "$stage/product.msi" "$out"
echo "built $out ($gitversion)" >&2
echo "$out"
