package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clinicpro/medtech-images/internal/alexsim"
	"github.com/clinicpro/medtech-images/internal/hcm"
	"github.com/clinicpro/medtech-images/internal/localapi"
)

// Options configure a demo run.
type Options struct {
	// BinDir holds alexsim, clinicpro-relay, clinicpro and clinicpro-demo (which
	// plays the HCM stand-in); clinicpro-tray is used when present and Tray is set.
	BinDir string
	// RunDir holds everything the run writes: logs, the relay's and the agent's
	// data, and the watched folders. A previous run's logs and data are removed so
	// each run starts enrolled and empty; files left in the watched folders stay.
	RunDir string
	// Ports on 127.0.0.1; zero picks a free one.
	AlexsimPort, RelayPort, LaunchPort int
	// Tray starts clinicpro-tray on the launch URL (needs a display).
	Tray bool
	// HCMRestartAfter is the agent's restart grace for the stand-in HCM: how long
	// it stays stopped before the agent's recovery policy starts it again, as it
	// would the Windows service; 20 s when zero, negative never (recovery "report").
	HCMRestartAfter time.Duration
	// Events receives one line per thing the demo notices on its own (the HCM
	// stand-in stopping and the agent starting it again); nil discards them.
	Events io.Writer
	// ReadyTimeout bounds each component's start; 2 min when zero.
	ReadyTimeout time.Duration
}

// Demo is a running demo.
type Demo struct {
	Sup        *Supervisor
	Facility   string
	AlexsimURL string // root of alexsim: /FHIR, /_sim/
	RelayURL   string
	LaunchAddr string // the agent's web launch listener
	AgentData  string // the agent's --data directory
	Inbox      string // watched, routed by the NHI in a file or folder name
	Scans      string // watched, every file waits in Unassigned
	HCMPIDFile string // the stand-in HCM's pid: kill it to take the practice offline
	LogDir     string

	opt       Options
	relaySpec Spec  // how the relay was started, to start it again (RestartRelay)
	relay     *Proc // the running relay
	stopMu    sync.Mutex
	stop      chan struct{}
	wg        sync.WaitGroup

	phoneMu      sync.Mutex
	phoneSession string // the capture session the last PhoneLink opened
}

// Start builds nothing: it starts the binaries in opt.BinDir and returns once each
// is ready, or stops what it started and says which component failed.
func Start(ctx context.Context, opt Options) (*Demo, error) {
	if opt.HCMRestartAfter == 0 {
		opt.HCMRestartAfter = 20 * time.Second
	}
	if opt.ReadyTimeout == 0 {
		opt.ReadyTimeout = 2 * time.Minute
	}
	if opt.Events == nil {
		opt.Events = io.Discard
	}
	run, err := filepath.Abs(opt.RunDir)
	if err != nil {
		return nil, err
	}
	d := &Demo{
		Facility:   alexsim.DefaultFacility,
		AgentData:  filepath.Join(run, "agent"),
		Inbox:      filepath.Join(run, "inbox"),
		Scans:      filepath.Join(run, "scans"),
		HCMPIDFile: filepath.Join(run, "hcm.pid"),
		LogDir:     filepath.Join(run, "logs"),
		opt:        opt,
		stop:       make(chan struct{}),
	}
	// A fresh queue and relay every run, so the printed instructions hold; files
	// left in the watched folders are picked up again.
	for _, p := range []string{d.AgentData, filepath.Join(run, "relay"), d.LogDir, d.HCMPIDFile} {
		if err := os.RemoveAll(p); err != nil {
			return nil, fmt.Errorf("cannot clear the previous run's %s: %w", p, err)
		}
	}
	for _, p := range []string{d.AgentData, d.Inbox, d.Scans, d.LogDir} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
	}
	d.Sup = &Supervisor{LogDir: d.LogDir}
	if err := d.start(ctx, run); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

func (d *Demo) bin(name string) string { return filepath.Join(d.opt.BinDir, name) }

func (d *Demo) start(ctx context.Context, run string) error {
	opt := d.opt
	ports, err := freePorts(opt.AlexsimPort, opt.RelayPort, opt.LaunchPort, 0)
	if err != nil {
		return err
	}
	simAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	d.AlexsimURL = "http://" + simAddr
	d.RelayURL = "http://127.0.0.1:" + strconv.Itoa(ports[1])
	d.LaunchAddr = "127.0.0.1:" + strconv.Itoa(ports[2])

	sim, err := d.Sup.Start(Spec{Name: "alexsim", Path: d.bin("alexsim"), Args: []string{"serve", "-port", strconv.Itoa(ports[0])}})
	if err != nil {
		return err
	}
	if err := WaitReady(ctx, sim, opt.ReadyTimeout, HTTPProbe(d.AlexsimURL+"/_sim/documents")); err != nil {
		return err
	}

	relayDir := filepath.Join(run, "relay")
	cfg := filepath.Join(relayDir, "relay.toml")
	if err := os.MkdirAll(relayDir, 0o755); err != nil {
		return err
	}
	toml := fmt.Sprintf("listen = %q\nadmin_listen = %q\ndata_dir = %q\n\n[alex]\nbase_url = %q\ntoken_url = %q\nclient_id = %q\n",
		strings.TrimPrefix(d.RelayURL, "http://"), "127.0.0.1:"+strconv.Itoa(ports[3]), filepath.Join(relayDir, "data"),
		d.AlexsimURL+"/FHIR", d.AlexsimURL+"/oauth2/v2.0/token", alexsim.DefaultClientID)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		return err
	}
	// The sandbox's well-known development secret; a real relay reads its own from a file.
	relayEnv := []string{"CLINICPRO_ALEX_CLIENT_SECRET=" + alexsim.DefaultClientSecret}
	out, err := d.Sup.Run(ctx, Spec{Name: "relay-connector-add", Path: d.bin("clinicpro-relay"), Env: relayEnv,
		Args: []string{"--config", cfg, "connector", "add", "--facility", d.Facility, "--name", "Demo practice"}})
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`Enrolment code: (\S+)`).FindSubmatch(out)
	if m == nil {
		return fmt.Errorf("clinicpro-relay connector add printed no enrolment code; see %s", filepath.Join(d.LogDir, "relay-connector-add.log"))
	}
	d.relaySpec = Spec{Name: "relay", Path: d.bin("clinicpro-relay"), Env: relayEnv, Args: []string{"--config", cfg, "serve"}}
	relay, err := d.Sup.Start(d.relaySpec)
	if err != nil {
		return err
	}
	d.relay = relay
	if err := WaitReady(ctx, relay, opt.ReadyTimeout, HTTPProbe(d.RelayURL+"/readyz")); err != nil {
		return err
	}

	agentArgs := func(a ...string) []string { return append(a, "--data", d.AgentData) }
	if _, err := d.Sup.Run(ctx, Spec{Name: "agent-enrol", Path: d.bin("clinicpro"),
		Args: agentArgs("enrol", "--relay", d.RelayURL, "--code", string(m[1]))}); err != nil {
		return err
	}
	if err := d.addFolders(); err != nil {
		return err
	}
	if err := d.configureHCM(simAddr, ports[0]); err != nil {
		return err
	}
	// The stand-in starts before the agent so the agent's first look finds HCM up.
	if err := d.startHCM(simAddr); err != nil {
		return err
	}
	agent, err := d.Sup.Start(Spec{Name: "agent", Path: d.bin("clinicpro"), Args: agentArgs("run", "--launch-listen", d.LaunchAddr)})
	if err != nil {
		return err
	}
	if err := WaitReady(ctx, agent, opt.ReadyTimeout, d.agentProbe()); err != nil {
		return err
	}
	d.wg.Add(1)
	go d.superviseHCM()

	if opt.Tray {
		if _, err := os.Stat(d.bin("clinicpro-tray")); err == nil {
			u, err := d.LaunchURL(ctx, "ZZZ0016")
			if err != nil {
				return err
			}
			if _, err := d.Sup.Start(Spec{Name: "tray", Path: d.bin("clinicpro-tray"), Args: []string{"--data", d.AgentData, u}}); err != nil {
				return err
			}
		}
	}
	return nil
}

// addFolders appends the demo's watched folders to the agent's configuration,
// which enrol has just written.
func (d *Demo) addFolders() error {
	path := filepath.Join(d.AgentData, "config.toml")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("the agent's configuration is missing after enrolment: %w", err)
	}
	_, err = fmt.Fprintf(f, "\n[[folder]]\npath = %q\nlabel = \"Inbox\"\nrouting = \"nhi\"\n\n[[folder]]\npath = %q\nlabel = \"Scans\"\nrouting = \"unassigned\"\n",
		d.Inbox, d.Scans)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Agent returns a client of the agent's local API.
func (d *Demo) Agent() *localapi.Client {
	return localapi.Dial(localapi.DefaultAddress(d.AgentData))
}

func (d *Demo) agentProbe() Probe {
	return func(ctx context.Context) error {
		c := d.Agent()
		defer c.Close()
		_, err := c.Status(ctx)
		return err
	}
}

// LaunchURL asks alexsim for a fresh clinicpro:// toolbar launch for a test patient,
// through its own command as a person would.
func (d *Demo) LaunchURL(ctx context.Context, nhi string) (string, error) {
	out, err := exec.CommandContext(ctx, d.bin("alexsim"), "launch", "-url", d.AlexsimURL, "-facility", d.Facility, "-nhi", nhi).Output()
	if err != nil {
		return "", fmt.Errorf("alexsim did not mint a launch URL: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// WebLaunchURL turns a clinicpro:// launch into the agent's loopback web launch,
// for a browser when no tray is running.
func (d *Demo) WebLaunchURL(launch string) string {
	_, q, _ := strings.Cut(launch, "?")
	return "http://" + d.LaunchAddr + "/launch?" + q
}

// SetOffline makes alexsim answer 503 for the demo's facility (HCM down), or
// clears every fault.
func (d *Demo) SetOffline(ctx context.Context, offline bool) error {
	method, body := http.MethodDelete, ""
	if offline {
		method, body = http.MethodPost, fmt.Sprintf(`{"offline":[%q]}`, d.Facility)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.AlexsimURL+"/_sim/faults", strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("alexsim did not take the fault: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("alexsim refused the fault: %s", resp.Status)
	}
	return nil
}

// configureHCM makes the agent this PC's HCM host, watching the stand-in through
// its pid file and restarting it by policy as it would the Windows service. The
// agent polls HCM every second and the relay's health every two so the demo's
// outage shows at once; a practice keeps the defaults.
func (d *Demo) configureHCM(simAddr string, simPort int) error {
	path := filepath.Join(d.AgentData, "config.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("the agent's configuration is missing after enrolment: %w", err)
	}
	cmd := []string{d.bin("clinicpro-demo"), "hcm-standin", "-addr", simAddr}
	q := make([]string, len(cmd))
	for i, c := range cmd {
		q[i] = strconv.Quote(c)
	}
	recovery, grace := `"restart"`, strconv.Quote(d.opt.HCMRestartAfter.String())
	if d.opt.HCMRestartAfter < 0 {
		recovery, grace = `"report"`, `"2m"`
	}
	// Each key is edited where the example has it (commented out or not), keeping
	// the file's comments, as enrol does with relay_url.
	out := string(b)
	for _, kv := range [][2]string{
		{"health_interval", `"2s"`}, {"host", "true"}, {"recovery", recovery}, {"poll_interval", `"1s"`},
		{"restart_grace", grace}, {"tunnel_port", strconv.Itoa(simPort)},
		{"standin_command", "[" + strings.Join(q, ", ") + "]"}, {"standin_pidfile", strconv.Quote(d.HCMPIDFile)},
	} {
		re := regexp.MustCompile(`(?m)^(# )?` + kv[0] + ` = .*$`)
		loc := re.FindStringIndex(out)
		if loc == nil {
			return fmt.Errorf("the agent's configuration %s has no %s line to set", path, kv[0])
		}
		out = out[:loc[0]] + kv[0] + " = " + kv[1] + out[loc[1]:]
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

func (d *Demo) standIn() *hcm.StandIn {
	return &hcm.StandIn{ServiceName: hcm.DefaultServiceName, PIDFile: d.HCMPIDFile, Command: []string{"stand-in"}}
}

// startHCM starts the first stand-in HCM, which holds a connection to alexsim as
// HCM holds one to Azure Relay, and records its pid where a person (and the
// agent's monitor) can find it. Later ones are started by the agent.
func (d *Demo) startHCM(simAddr string) error {
	p, err := d.Sup.Start(Spec{Name: "hcm", Path: d.bin("clinicpro-demo"), Args: []string{"hcm-standin", "-addr", simAddr}})
	if err != nil {
		return err
	}
	return os.WriteFile(d.HCMPIDFile, []byte(strconv.Itoa(p.Pid())+"\n"), 0o644)
}

// superviseHCM plays what HCM's absence does to Medtech: while no stand-in is
// running, alexsim answers 503 for the facility, as ALEX does when HCM is down;
// when the agent's recovery policy has started it again, the facility is back.
func (d *Demo) superviseHCM() {
	defer d.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-d.stop; cancel() }()
	si := d.standIn()
	up := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
		st, err := si.State(ctx, hcm.DefaultServiceName)
		if err != nil || (st.State == hcm.Running) == up {
			continue
		}
		up = !up
		if !up {
			if err := d.SetOffline(ctx, true); err != nil {
				fmt.Fprintf(d.opt.Events, "demo: the stand-in HCM stopped but alexsim could not be set offline: %v\n", err)
				continue
			}
			fmt.Fprintf(d.opt.Events, "demo: the stand-in HCM stopped: Medtech now answers 503 for %s (practice offline).\n", d.Facility)
			continue
		}
		if err := d.SetOffline(ctx, false); err != nil {
			fmt.Fprintf(d.opt.Events, "demo: could not clear alexsim's offline fault: %v\n", err)
			continue
		}
		fmt.Fprintf(d.opt.Events, "demo: the agent restarted the stand-in HCM: %s is back online.\n", d.Facility)
	}
}

// Stop stops every process the demo started and returns once all are gone.
func (d *Demo) Stop() {
	d.stopMu.Lock()
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	d.stopMu.Unlock()
	d.Sup.Stop()
	d.wg.Wait()
}

// Instructions prints what a person needs, in a few lines: where to click, where
// to drop files, how to watch, how to take the practice offline.
// repoRel shortens paths for display; nil keeps them absolute.
func (d *Demo) Instructions(w io.Writer, launch string, repoRel func(string) string) {
	if repoRel == nil {
		repoRel = func(s string) string { return s }
	}
	fmt.Fprintf(w, `
ClinicPro Images demo is running on loopback. Ctrl-C stops everything. Logs: %s
  Open "as if from Medtech" (test patient ZZZ0016; valid 5 min, new one: %s launch -url %s):
    %s
    in a browser: %s
  Drop files:  %s (NHI in the name or a ZZZ0016/ folder)   %s (wait in Unassigned)   samples: demo/samples/
  Watch:       %s --data %s status   (or doctor)     curl -s %s/_sim/documents
  Offline:     stop the stand-in HCM: kill $(cat %s)
               status and doctor say HCM is offline within seconds; the agent starts it again %s
               (Medtech only:  curl -X POST -d '{"offline":["%s"]}' %s/_sim/faults    back: curl -X DELETE %s/_sim/faults)
`, repoRel(d.LogDir), repoRel(d.bin("alexsim")), d.AlexsimURL, launch, d.WebLaunchURL(launch),
		repoRel(d.Inbox), repoRel(d.Scans), repoRel(d.bin("clinicpro")), repoRel(d.AgentData), d.AlexsimURL,
		repoRel(d.HCMPIDFile), restartWhen(d.opt.HCMRestartAfter), d.Facility, d.AlexsimURL, d.AlexsimURL)
}

func restartWhen(after time.Duration) string {
	if after < 0 {
		return "never (recovery = \"report\")"
	}
	return "after " + after.String() + " stopped"
}

// freePorts returns want, with each zero replaced by a port free right now.
func freePorts(want ...int) ([]int, error) {
	out := make([]int, len(want))
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	for i, p := range want {
		if p != 0 {
			out[i] = p
			continue
		}
		// Held open until all are chosen, so two zeros never get the same port.
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("no free loopback port: %w", err)
		}
		held = append(held, l)
		out[i] = l.Addr().(*net.TCPAddr).Port
	}
	return out, nil
}
