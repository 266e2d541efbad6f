// Package ui draws the ClinicPro Images tray app with Fyne: the tray icon and menu,
// one capture window per Medtech launch, the Unassigned list and the Status window.
// It is a pure client of the agent (localapi.Service): it never holds credentials and
// never calls the relay. Screen logic lives in ui/viewmodel; widgets here only draw a
// view model's snapshot and forward clicks, so they stay thin.
package ui
