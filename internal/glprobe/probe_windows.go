//go:build windows

package glprobe

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	gdi32    = windows.NewLazySystemDLL("gdi32.dll")
	opengl32 = windows.NewLazySystemDLL("opengl32.dll")

	procRegisterClassExW  = user32.NewProc("RegisterClassExW")
	procCreateWindowExW   = user32.NewProc("CreateWindowExW")
	procDestroyWindow     = user32.NewProc("DestroyWindow")
	procDefWindowProcW    = user32.NewProc("DefWindowProcW")
	procGetDC             = user32.NewProc("GetDC")
	procReleaseDC         = user32.NewProc("ReleaseDC")
	procGetSystemMetrics  = user32.NewProc("GetSystemMetrics")
	procMessageBoxW       = user32.NewProc("MessageBoxW")
	procChoosePixelFormat = gdi32.NewProc("ChoosePixelFormat")
	procSetPixelFormat    = gdi32.NewProc("SetPixelFormat")
	procWglCreateContext  = opengl32.NewProc("wglCreateContext")
	procWglMakeCurrent    = opengl32.NewProc("wglMakeCurrent")
	procWglDeleteContext  = opengl32.NewProc("wglDeleteContext")
	procGlGetString       = opengl32.NewProc("glGetString")
)

const smRemoteSession = 0x1000

// pixelFormat is PIXELFORMATDESCRIPTOR.
type pixelFormat struct {
	Size, Version                                                  uint16
	Flags                                                          uint32
	PixelType, ColorBits, RedBits, RedShift, GreenBits, GreenShift uint8
	BlueBits, BlueShift, AlphaBits, AlphaShift, AccumBits          uint8
	AccumRedBits, AccumGreenBits, AccumBlueBits, AccumAlphaBits    uint8
	DepthBits, StencilBits, AuxBuffers, LayerType, Reserved        uint8
	LayerMask, VisibleMask, DamageMask                             uint32
}

type wndClassEx struct {
	Size, Style                        uint32
	WndProc                            uintptr
	ClsExtra, WndExtra                 int32
	Instance, Icon, Cursor, Background windows.Handle
	MenuName, ClassName                *uint16
	IconSm                             windows.Handle
}

// probeHere makes a throwaway window and OpenGL context in this process and reads
// GL_VERSION and GL_RENDERER. It loads the system opengl32.dll, so only the probe
// child calls it.
func probeHere() Result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	remote, _, _ := procGetSystemMetrics.Call(smRemoteSession)
	r := Result{Remote: remote != 0}
	if err := opengl32.Load(); err != nil {
		r.Err = "opengl32.dll: " + err.Error()
		return r
	}
	class, _ := windows.UTF16PtrFromString("ClinicProGLProbe")
	wc := wndClassEx{WndProc: procDefWindowProcW.Addr(), ClassName: class, Style: 0x20 /* CS_OWNDC */}
	wc.Size = uint32(unsafe.Sizeof(wc))
	procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc)))
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(class)), uintptr(unsafe.Pointer(class)), 0, 0, 0, 1, 1, 0, 0, 0, 0)
	if hwnd == 0 {
		r.Err = "no window: " + err.Error()
		return r
	}
	defer procDestroyWindow.Call(hwnd)
	hdc, _, _ := procGetDC.Call(hwnd)
	if hdc == 0 {
		r.Err = "no device context"
		return r
	}
	defer procReleaseDC.Call(hwnd, hdc)
	pfd := pixelFormat{Version: 1, Flags: 0x4 | 0x20 | 0x1 /* DRAW_TO_WINDOW|SUPPORT_OPENGL|DOUBLEBUFFER */, ColorBits: 32, DepthBits: 24}
	pfd.Size = uint16(unsafe.Sizeof(pfd))
	pf, _, _ := procChoosePixelFormat.Call(hdc, uintptr(unsafe.Pointer(&pfd)))
	if pf == 0 {
		r.Err = "no OpenGL pixel format"
		return r
	}
	if ok, _, _ := procSetPixelFormat.Call(hdc, pf, uintptr(unsafe.Pointer(&pfd))); ok == 0 {
		r.Err = "the pixel format was refused"
		return r
	}
	ctx, _, _ := procWglCreateContext.Call(hdc)
	if ctx == 0 {
		r.Err = "wglCreateContext failed"
		return r
	}
	defer procWglDeleteContext.Call(ctx)
	if ok, _, _ := procWglMakeCurrent.Call(hdc, ctx); ok == 0 {
		r.Err = "wglMakeCurrent failed"
		return r
	}
	defer procWglMakeCurrent.Call(0, 0)
	r.Version = glString(0x1F02)  // GL_VERSION
	r.Renderer = glString(0x1F01) // GL_RENDERER
	if r.Version == "" {
		r.Err = "glGetString(GL_VERSION) returned nothing"
	}
	return r
}

func glString(name uintptr) string {
	p, _, _ := procGlGetString.Call(name)
	if p == 0 {
		return ""
	}
	// glGetString returns a pointer into the driver's memory, not Go's.
	return windows.BytePtrToString(*(**byte)(unsafe.Pointer(&p)))
}

// ProbeFlag is the argument that makes the tray exe run the probe and exit.
const ProbeFlag = "-probe-opengl"

// RunChild is the probe child's whole job: print the Result and exit.
func RunChild() {
	fmt.Print(Format(probeHere()))
	os.Exit(0)
}

// Probe runs exe (the tray itself) with ProbeFlag and reads what it found. A child
// that hangs or dies counts as no OpenGL.
func Probe(exe string) Result {
	cmd := exec.Command(exe, ProbeFlag)
	cmd.SysProcAttr = &syscall.SysProcAttr{HideWindow: true}
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		err = errors.New("the OpenGL probe did not answer in 20 s")
	}
	r := ParseOutput(string(out))
	if err != nil && r.Err == "" && r.Version == "" {
		r.Err = err.Error()
	}
	return r
}

// softwareDir is where the installer puts Mesa's software OpenGL, beside the tray.
func softwareDir(exe string) string { return filepath.Join(filepath.Dir(exe), "mesa") }

// Shipped reports whether a software OpenGL is installed for the tray.
func Shipped(exe string) bool {
	_, err := os.Stat(filepath.Join(softwareDir(exe), "opengl32.dll"))
	return err == nil
}

// LoadSoftware loads the shipped opengl32.dll (and, from the same folder, what it
// needs) before the toolkit starts: GLFW then asks for "opengl32.dll" by name and
// Windows hands it the module already loaded.
func LoadSoftware(exe string) error {
	path := filepath.Join(softwareDir(exe), "opengl32.dll")
	_, err := windows.LoadLibraryEx(path, 0, windows.LOAD_WITH_ALTERED_SEARCH_PATH)
	if err != nil {
		return fmt.Errorf("loading the software OpenGL %s: %w", path, err)
	}
	return nil
}

// Tell shows msg in a plain Windows message box, which needs no OpenGL.
func Tell(title, msg string) {
	t, _ := windows.UTF16PtrFromString(title)
	m, _ := windows.UTF16PtrFromString(strings.TrimSpace(msg))
	procMessageBoxW.Call(0, uintptr(unsafe.Pointer(m)), uintptr(unsafe.Pointer(t)), 0x30 /* MB_ICONWARNING */)
}
