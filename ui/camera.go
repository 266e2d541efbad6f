package ui

// Camera opens the PC's camera app. The photos it takes land in the Camera Roll,
// which the agent watches and routes to the open capture window's session, so the
// tray only has to start the app.
type Camera interface {
	Open() error
}

// SystemCamera is the OS's camera app (Windows Camera; elsewhere, an explanation).
func SystemCamera() Camera { return systemCamera{} }
