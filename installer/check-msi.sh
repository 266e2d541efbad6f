#!/usr/bin/env bash
# Checks a built ClinicPro Images MSI, table by table, so a broken installer cannot land.
#
#   installer/check-msi.sh dist/ClinicProImages-<version>-x64.msi
#
# Reads the database with msiinfo (msitools) and reports every problem it finds, not only the
# first; exits 1 if there was any. What each check protects is said beside it; docs/rollout.md
# describes the install that these tables produce.
set -euo pipefail

msi=${1:?usage: check-msi.sh FILE.msi}
[[ -f $msi ]] || { echo "check-msi: $msi does not exist; build it with 'make msi'." >&2; exit 1; }
command -v msiinfo >/dev/null || { echo "check-msi: msiinfo is not installed; apt-get install msitools." >&2; exit 1; }

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { [[ -n ${VERBOSE:-} ]] && echo "ok: $*" >&2; return 0; }

# Export every table once; the checks below read the files many times. The export runs inside
# the scratch folder because msiinfo writes binary columns (the Icon table) to the current one.
msi=$(realpath "$msi")
export_dir=$(mktemp -d)
trap 'rm -rf "$export_dir"' EXIT
mkdir "$export_dir/tables"
while read -r table; do
	[[ $table == _* ]] && continue
	(cd "$export_dir" && msiinfo export "$msi" "$table") | tr -d '\r' | tail -n +4 >"$export_dir/tables/$table"
done < <(msiinfo tables "$msi" | tr -d '\r')
# rows TABLE: the table's rows, tab-separated, without msiinfo's three header lines.
rows() {
	if [[ -f $export_dir/tables/$1 ]]; then cat "$export_dir/tables/$1"; fi
}
# has TABLE REGEX WHY: some row of TABLE matches the extended regex (fields joined by tabs).
has() {
	if rows "$1" | grep -qE -- "$2"; then ok "$3"; else fail "$3 (no $1 row matching /$2/)"; fi
}
T=$'\t'
# fields TABLE: rows with fields split by \037, because read collapses runs of tabs (empty columns).
fields() { rows "$1" | tr '\t' '\037'; }
U=$'\037'

# --- Files: both binaries in Program Files\ClinicPro, the toolbar icon where MT Icon Loader expects it.
has Directory "^INSTALLDIR${T}ProgramFiles64Folder${T}ClinicPro\$" "binaries install to Program Files (64-bit)\\ClinicPro"
for exe in clinicpro.exe clinicpro-tray.exe; do
	comp=$(rows File | awk -F'\t' -v n="$exe" '$3 == n || $3 ~ "\\|" n "$" {print $2}')
	if [[ -z $comp ]]; then
		fail "File table has no $exe"
	else
		has Component "^${comp}${T}[^${T}]*${T}INSTALLDIR${T}" "$exe is installed into INSTALLDIR"
	fi
done
# Both exes carry the build's four-part file version (their version resource), the same one.
versions=()
for exe in clinicpro.exe clinicpro-tray.exe; do
	v=$(rows File | awk -F'\t' -v n="$exe" '$3 == n || $3 ~ "\\|" n "$" {print $5}')
	if [[ ! $v =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $v == 0.0.0.0 ]]; then
		fail "$exe has File.Version '$v': Windows Installer would not know to replace it, and inventory tools show nothing"
	fi
	versions+=("$v")
done
[[ ${versions[0]} == "${versions[1]:-}" ]] || fail "clinicpro.exe (${versions[0]}) and clinicpro-tray.exe (${versions[1]:-}) are from different builds"
if [[ -n ${EXPECT_FILE_VERSION:-} && ${versions[0]} != "$EXPECT_FILE_VERSION" ]]; then
	fail "File.Version is ${versions[0]}, want this build's $EXPECT_FILE_VERSION"
fi
if rows File | awk -F'\t' '{print tolower($3)}' | grep -q alexsim; then
	fail "alexsim is in the MSI; it is a development sandbox and must never reach a practice"
fi
icon_comp=$(rows File | awk -F'\t' 'tolower($3) ~ /\.png$/ {print $2}' | head -1)
if [[ -z $icon_comp ]]; then
	fail "File table has no toolbar icon PNG"
else
	has Component "^${icon_comp}${T}[^${T}]*${T}TOOLBARDIR${T}" "toolbar icon is installed into TOOLBARDIR"
fi
# The folder's name is the label Medtech shows on the toolbar.
has Directory "^TOOLBARDIR${T}TOOLBARROOT${T}([^|${T}]*\\|)?ClinicPro Images\$" "toolbar icon folder is named 'ClinicPro Images'"
has Directory "^TOOLBARROOT${T}DATADIR${T}([^|${T}]*\\|)?Toolbar Icon\$" "toolbar icon sits in ...\\Toolbar Icon\\"
has Directory "^DATADIR${T}CommonAppDataFolder${T}ClinicPro\$" "data lives in %ProgramData%\\ClinicPro"
# Every file is 64-bit and in a component of the one feature, or msiexec would skip it silently.
while IFS=$U read -r file comp _; do
	has FeatureComponents "^[^${T}]+${T}${comp}\$" "file $file belongs to a feature"
done < <(fields File)

# --- The agent service: LocalSystem, automatic, started on install, stopped and removed on uninstall.
svc=$(fields ServiceInstall | awk -F'\037' '$2 == "ClinicProAgent"')
if [[ -z $svc ]]; then
	fail "ServiceInstall has no ClinicProAgent service"
else
	IFS=$U read -r _ name display type start errctl _ _ account _ args comp _ <<<"$svc"
	[[ $display == "ClinicPro Agent" ]] || fail "service display name is '$display', want 'ClinicPro Agent'"
	(( (type & 0x10) != 0 )) || fail "service type $type is not an own-process service"
	[[ $start == 2 ]] || fail "service start type $start is not automatic (2)"
	(( (errctl & 0x8000) != 0 )) || fail "service is not vital (ErrorControl $errctl): a failed registration would still report success"
	[[ $account == LocalSystem ]] || fail "service account is '$account', want LocalSystem"
	[[ $args == "service run" ]] || fail "service arguments are '$args', want 'service run'"
	exe_comp=$(rows File | awk -F'\t' '$3 == "clinicpro.exe" {print $2}')
	[[ $comp == "$exe_comp" ]] || fail "service is in component '$comp', not clinicpro.exe's component '$exe_comp'"
fi
ctl=$(rows ServiceControl | awk -F'\t' '$2 == "ClinicProAgent" {print $3}')
if [[ -z $ctl ]]; then
	fail "ServiceControl has no ClinicProAgent row"
else
	# msidbServiceControlEvent: 1 start on install, 2 stop on install, 32 stop on uninstall, 128 delete on uninstall.
	for bit in 1 2 32 128; do
		(( (ctl & bit) != 0 )) || fail "ServiceControl event $ctl lacks flag $bit (start on install, stop for upgrade/uninstall, delete on uninstall)"
	done
fi

# --- Registry: the clinicpro: URL scheme machine-wide, the tray at every log-on, rollout values.
reg() { # KEY NAME VALUE-REGEX WHY   (Root 2 = HKLM)
	if rows Registry | awk -F'\t' -v k="$1" -v n="$2" -v v="$3" '
		{ key = $3; sub(/\\$/, "", key) }
		$2 == 2 && tolower(key) == tolower(k) && $4 == n && $5 ~ v { found = 1 }
		END { exit !found }'; then ok "$4"; else fail "$4 (no HKLM Registry row $1 [$2] ~ /$3/)"; fi
}
reg 'Software\Classes\clinicpro' '' '^URL:' "clinicpro: scheme has a description"
reg 'Software\Classes\clinicpro' 'URL Protocol' '^$' "clinicpro: is marked as a URL protocol"
reg 'Software\Classes\clinicpro\shell\open\command' '' '^"\[INSTALLDIR\]clinicpro-tray\.exe" "%1"$' "clinicpro: opens the tray with the URL"
reg 'Software\Microsoft\Windows\CurrentVersion\Run' 'ClinicPro Images' '^"\[INSTALLDIR\]clinicpro-tray\.exe"' "tray starts at every user's log-on"
# internal/eventlog writes under this source; unregistered, Windows shows every entry as "description not found".
reg 'SYSTEM\CurrentControlSet\Services\EventLog\Application\ClinicPro Images' 'EventMessageFile' 'EventCreate\.exe$' "event log source 'ClinicPro Images' is registered"
reg 'SYSTEM\CurrentControlSet\Services\EventLog\Application\ClinicPro Images' 'TypesSupported' '^#7$' "event log source accepts errors, warnings and information"
for pair in RelayURL:RELAYURL EnrolCode:ENROLCODE WatchFolders:WATCHFOLDERS HCMHost:HCMHOST; do
	name=${pair%%:*} prop=${pair#*:}
	reg 'Software\ClinicPro\Rollout' "$name" "^\\[$prop\\]\$" "$prop is handed to the agent as Rollout\\$name"
	comp=$(rows Registry | awk -F'\t' -v n="$name" '$4 == n && $3 ~ /Rollout/ {print $6}')
	# Unconditioned, an upgrade without the property would overwrite the value with nothing.
	# Only SYSTEM and Administrators: the enrolment code is not for every user (permissions below).
	if [[ -n $comp ]]; then
		has Component "^${comp}${T}[^${T}]*${T}[^${T}]*${T}[0-9]+${T}${prop}${T}" "Rollout\\$name is written only when $prop is given"
		# Permanent (16): an upgrade must not take back a value the agent has not consumed yet.
		attr=$(rows Component | awk -F'\t' -v c="$comp" '$1 == c {print $4}')
		(( (attr & 16) != 0 )) || fail "Rollout\\$name's component is not permanent; an upgrade would remove an enrolment the agent has not used yet"
	fi
done
# Every HKLM row must be in a 64-bit component, or Windows redirects it to WOW6432Node.
while IFS=$U read -r id root key name value comp; do
	attr=$(rows Component | awk -F'\t' -v c="$comp" '$1 == c {print $4}')
	(( (attr & 256) != 0 )) || fail "registry row $id ($key) is in 32-bit component $comp and would land in WOW6432Node"
done < <(fields Registry)

# --- Permissions: SDDL in MsiLockPermissionsEx, never LockPermissions, whose account names
# ("Administrators") are localised and fail with error 1609 on non-English Windows, and which
# Windows Installer refuses to mix with MsiLockPermissionsEx.
[[ -z $(rows LockPermissions) ]] || fail "the LockPermissions table is used; use MsiLockPermissionsEx with SDDL (well-known SIDs hold on every language)"
# lock OBJECT TABLE: the SDDL locking OBJECT, or nothing.
lock() { rows MsiLockPermissionsEx | awk -F'\t' -v o="$1" -v t="$2" '$2 == o && $3 == t {print $4}'; }
# trustees SDDL: the distinct SIDs its ACEs name, sorted, space-separated.
trustees() { grep -oE '\([^()]*\)' <<<"$1" | awk -F';' '{sub(/\)$/, "", $6); print $6}' | sort -u | tr '\n' ' ' | sed 's/ $//'; }
# The data folder's ACLs are the ones the agent restores at every start (internal/datadir).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
goconst() { sed -n "s/^[[:space:]]*$1 = \"\(.*\)\"$/\1/p" "$here/../internal/datadir/secure_windows.go" 2>/dev/null; }
want_folder=$(goconst FolderSDDL) want_toolbar=$(goconst ToolbarSDDL)
[[ -n $want_folder && -n $want_toolbar ]] || fail "cannot read FolderSDDL and ToolbarSDDL from internal/datadir/secure_windows.go to compare"
for triple in "DATADIR|$want_folder|data folder" "TOOLBARROOT|$want_toolbar|toolbar icon folder"; do
	IFS='|' read -r dir want what <<<"$triple"
	has CreateFolder "^${dir}${T}" "the installer creates the $what ($dir), so it can set its ACL"
	got=$(lock "$dir" CreateFolder)
	if [[ -z $got ]]; then
		fail "the $what ($dir) has no MsiLockPermissionsEx row: it would inherit ProgramData's ACL (Users read, CREATOR OWNER full control)"
	elif [[ $got != O:SYG:SY$want ]]; then
		fail "the $what ($dir) gets SDDL '$got', want 'O:SYG:SY$want' (owner SYSTEM, then what the agent restores)"
	fi
done
for name in RelayURL EnrolCode WatchFolders HCMHost; do
	got=$(lock "Rollout$name" Registry)
	if [[ -z $got ]]; then
		fail "Rollout\\$name has no MsiLockPermissionsEx row: every user could read it"
	elif [[ $got != D:P* || $(trustees "$got") != "BA SY" ]]; then
		fail "Rollout\\$name's key grants access to someone other than SYSTEM and Administrators, or inherits (SDDL '$got')"
	fi
done

# --- Properties: silent-rollout properties survive elevation; the enrolment code stays out of logs.
secure=$(rows Property | awk -F'\t' '$1 == "SecureCustomProperties" {print $2}')
for p in RELAYURL ENROLCODE WATCHFOLDERS HCMHOST REMOVEDATA WIX_UPGRADE_DETECTED WIX_DOWNGRADE_DETECTED; do
	[[ ";$secure;" == *";$p;"* ]] || fail "SecureCustomProperties lacks $p; msiexec would drop it on the way to the elevated install"
done
hidden=$(rows Property | awk -F'\t' '$1 == "MsiHiddenProperties" {print $2}')
[[ ";$hidden;" == *";ENROLCODE;"* ]] || fail "MsiHiddenProperties lacks ENROLCODE; the enrolment code would appear in verbose install logs"
version=$(rows Property | awk -F'\t' '$1 == "ProductVersion" {print $2}')
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "ProductVersion '$version' is not numeric MAJOR.MINOR.BUILD"
has Property "^ALLUSERS${T}1\$" "per-machine install (ALLUSERS=1)"
upgrade_code=$(rows Property | awk -F'\t' '$1 == "UpgradeCode" {print $2}')
[[ -n $upgrade_code ]] || fail "Property table has no UpgradeCode"

# --- Programs and Features icon: present, and an icon rather than a whole exe (the Icon table
# stores its source uncompressed; the tray exe there once added 25 MB to the MSI).
arp_icon=$(rows Property | awk -F'\t' '$1 == "ARPPRODUCTICON" {print $2}')
if [[ -z $arp_icon ]]; then
	fail "no ARPPRODUCTICON; Programs and Features would show a blank icon"
elif [[ ! -f $export_dir/Icon/Icon.$arp_icon ]]; then
	fail "ARPPRODUCTICON names icon '$arp_icon', which the Icon table lacks"
elif (( $(stat -c %s "$export_dir/Icon/Icon.$arp_icon") > 1048576 )); then
	fail "icon '$arp_icon' is $(stat -c %s "$export_dir/Icon/Icon.$arp_icon") bytes; use an .ico, not an exe"
fi

# --- Upgrade: later MSIs replace earlier ones (keeping ProgramData), older ones refuse to install.
has Upgrade "^\\${upgrade_code}${T}${T}${version//./\\.}${T}[^${T}]*${T}[0-9]+${T}[^${T}]*${T}WIX_UPGRADE_DETECTED\$" "older and same versions are upgraded"
has Upgrade "^\\${upgrade_code}${T}${version//./\\.}${T}${T}[^${T}]*${T}[0-9]+${T}[^${T}]*${T}WIX_DOWNGRADE_DETECTED\$" "newer installed versions are detected"
has LaunchCondition "^NOT WIX_DOWNGRADE_DETECTED${T}" "downgrades are refused"

# --- Sequence: the actions exist and deferred custom actions run inside the install script.
seq() { rows InstallExecuteSequence | awk -F'\t' -v a="$1" '$1 == a {print $3}'; }
for a in FindRelatedProducts RemoveExistingProducts InstallInitialize StopServices DeleteServices InstallServices StartServices InstallFinalize WriteRegistryValues InstallFiles; do
	[[ -n $(seq "$a") ]] || fail "InstallExecuteSequence lacks $a"
done
init=$(seq InstallInitialize) final=$(seq InstallFinalize)
rep=$(seq RemoveExistingProducts)
[[ -n $rep && -n $init ]] && (( rep > init )) || fail "RemoveExistingProducts ($rep) is not after InstallInitialize ($init): a failed upgrade would not roll back to the old version"
while IFS=$U read -r action type _; do
	(( (type & 1024) != 0 )) || continue # msidbCustomActionTypeInScript
	s=$(seq "$action")
	if [[ -z $s ]]; then
		fail "deferred custom action $action is never scheduled"
	elif (( s <= init || s >= final )); then
		fail "deferred custom action $action at $s is outside InstallInitialize..InstallFinalize ($init..$final); msiexec would abort"
	fi
	(( (type & 2048) != 0 )) || fail "deferred custom action $action impersonates the user; it needs SYSTEM rights"
done < <(fields CustomAction)
# --- Service configuration inside the transaction (MsiConfigureServices), not sc.exe.
mcs=$(seq MsiConfigureServices)
[[ -n $mcs ]] && (( mcs > $(seq InstallServices) && mcs < $(seq StartServices) )) \
	|| fail "MsiConfigureServices ($mcs) is not between InstallServices and StartServices: the service's delayed start and recovery would not be applied"
# MsiServiceConfig: Event bit 1 (on install), ConfigType 3 = SERVICE_CONFIG_DELAYED_AUTO_START_INFO, Argument 1.
has MsiServiceConfig "^[^${T}]+${T}ClinicProAgent${T}[0-9]*[13579]${T}3${T}1${T}" "the agent service starts automatically, delayed (MsiServiceConfig)"
# MsiServiceConfigFailureActions: restart (1) on the first three failures, count reset within a day.
fa=$(fields MsiServiceConfigFailureActions | awk -F'\037' '$2 == "ClinicProAgent"')
if [[ -z $fa ]]; then
	fail "the agent service has no recovery (no MsiServiceConfigFailureActions row): a crashed agent would stay stopped"
else
	IFS=$U read -r _ _ event reset _ _ actions delays _ <<<"$fa"
	(( (event & 1) != 0 )) || fail "the agent's recovery is not set on install (Event $event)"
	[[ $actions == "1[~]1[~]1" ]] || fail "the agent's recovery actions are '$actions', want a restart on each of the first three failures (1[~]1[~]1)"
	[[ $delays =~ ^[0-9]+\[~\][0-9]+\[~\][0-9]+$ ]] || fail "the agent's recovery delays '$delays' are not three numbers"
	[[ -n $reset ]] && (( reset > 0 && reset <= 86400 )) || fail "the agent's failure count reset period is '$reset', want at most a day"
fi
if rows CustomAction | awk -F'\t' '{print tolower($3 " " $4)}' | grep -qE '(^| |\\)sc(\.exe)?( |$)|scexe'; then
	fail "a custom action runs sc.exe; the service's configuration belongs in MsiServiceConfig and MsiServiceConfigFailureActions"
fi

# --- Trays: asked to exit cleanly (by the still-running agent) before anything is removed;
# taskkill only after, for what did not exit.
ct=$(seq CloseTrays) stop=$(seq StopServices) kill=$(seq StopTray)
if [[ -z $ct ]]; then
	fail "no CloseTrays action: an upgrade would kill every GP's tray without asking it to close"
else
	has CustomAction "^CloseTrays${T}[0-9]+${T}CLINICPROEXE${T}tray close(${T}|\$)" "CloseTrays runs \`clinicpro tray close\`"
	has CustomAction "^SetClinicProExe${T}[0-9]+${T}CLINICPROEXE${T}\\[INSTALLDIR\\]clinicpro\\.exe(${T}|\$)" "CloseTrays runs the installed clinicpro.exe"
	has InstallExecuteSequence "^CloseTrays${T}REMOVE=\"ALL\"${T}" "CloseTrays runs whenever this version is removed (uninstall or upgrade)"
	(( ct < stop )) || fail "CloseTrays ($ct) runs after StopServices ($stop): the agent that tells the trays would already be stopped"
	[[ -z $kill ]] || (( ct < kill )) || fail "CloseTrays ($ct) runs after StopTray ($kill)"
fi

# --- Data removal: only an explicit REMOVEDATA=1 uninstall, and only once it has succeeded.
for a in RemoveData RemoveSettings; do
	has InstallExecuteSequence "^${a}${T}.*REMOVEDATA=\"1\".*NOT UPGRADINGPRODUCTCODE" "$a runs only on an explicit REMOVEDATA=1 uninstall, never during an upgrade"
	type=$(rows CustomAction | awk -F'\t' -v a="$a" '$1 == a {print $2}')
	[[ -n $type ]] && (( (type & 512) != 0 && (type & 1024) != 0 )) \
		|| fail "$a is not a commit action (type '$type'): a failed uninstall that rolls back would have deleted the data anyway"
	has InstallExecuteSequence "^${a}${T}.*NOT RollbackDisabled" "$a (commit) is not relied on where rollback is disabled"
	has InstallExecuteSequence "^${a}NoRollback${T}.*REMOVEDATA=\"1\".*NOT UPGRADINGPRODUCTCODE AND RollbackDisabled" "where rollback is disabled (commit actions never run), ${a}NoRollback removes instead"
done

# --- Programs and Features: who publishes it and where to get help, not a commit hash.
for p in ARPHELPLINK ARPURLINFOABOUT ARPCONTACT; do
	v=$(rows Property | awk -F'\t' -v p="$p" '$1 == p {print $2}')
	[[ -n $v ]] || fail "$p is empty: Programs and Features would show no support information"
done
for p in ARPHELPLINK ARPURLINFOABOUT; do
	v=$(rows Property | awk -F'\t' -v p="$p" '$1 == p {print $2}')
	[[ -z $v || $v == https://* ]] || fail "$p is '$v', not an https:// address"
done
comments=$(rows Property | awk -F'\t' '$1 == "ARPCOMMENTS" {print $2}')
if [[ $comments =~ ^v?[0-9a-f.]+(-[0-9]+-g[0-9a-f]+)?(-dirty)?$ ]]; then
	fail "ARPCOMMENTS is '$comments', a version or commit rather than a description"
fi
manufacturer=$(rows Property | awk -F'\t' '$1 == "Manufacturer" {print $2}')
[[ -n $manufacturer ]] || fail "no Manufacturer"
if [[ -n ${EXPECT_MANUFACTURER:-} && $manufacturer != "$EXPECT_MANUFACTURER" ]]; then
	fail "Manufacturer is '$manufacturer' but the package is signed by '$EXPECT_MANUFACTURER': Windows would show two publishers"
fi

# --- A software OpenGL, when shipped, sits in its own folder: beside the tray it would
# replace the GPU's OpenGL on every PC, not only where the session lacks one.
gl_dir=$(rows File | awk -F'\t' 'tolower($3) ~ /(^|\|)opengl32\.dll$/ {print $2}' | head -1)
if [[ -n $gl_dir ]]; then
	has Component "^${gl_dir}${T}[^${T}]*${T}MESADIR${T}" "the software OpenGL is installed into INSTALLDIR\\mesa, not beside the tray"
	has Directory "^MESADIR${T}INSTALLDIR${T}mesa\$" "the software OpenGL folder is Program Files\\ClinicPro\\mesa"
fi

# --- Start menu: the tray, with its AppUserModelID so its notifications are native toasts.
sc=$(fields Shortcut | awk -F'\037' '$2 == "ProgramMenuFolder"')
if [[ -z $sc ]]; then
	fail "no Start menu shortcut: a GP who quits the tray could not start it again"
else
	IFS=$U read -r sc_id _ _ _ sc_target _ <<<"$sc"
	[[ $sc_target == "[INSTALLDIR]clinicpro-tray.exe" ]] || fail "the Start menu shortcut points at '$sc_target', not the tray"
	aumid=$(sed -n 's/^[[:space:]]*ID[[:space:]]*=[[:space:]]*"\(.*\)"/\1/p' "$here/../FyneApp.toml" 2>/dev/null | head -1)
	has MsiShortcutProperty "^[^${T}]+${T}${sc_id}${T}\\{9F4C2855-9F79-4B39-A8D0-E1D42DE1D5F3\\}, 5${T}${aumid//./\\.}\$" "the Start menu shortcut carries the tray's AppUserModelID ($aumid)"
fi

# --- Summary information: a 64-bit package.
if ! msiinfo suminfo "$msi" | tr -d '\r' | grep -qE '^Template: x64;'; then
	fail "summary information Template is not x64; Windows would install to Program Files (x86)"
fi

if ((failures > 0)); then
	echo "check-msi: $msi has $failures problem(s); see FAIL lines above." >&2
	exit 1
fi
echo "check-msi: $msi passed (version $version)"
