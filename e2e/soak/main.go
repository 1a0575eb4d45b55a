package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/keygate/keygate/local/dynalite"
)

// config is the soak's settings: flags, defaulted from SOAK_* variables.
type config struct {
	Duration    time.Duration // how long the load runs
	Concurrency int           // requests in flight
	Outage      time.Duration // how long the store is down, from 45 % of the run
	StorePort   int           // dynalite's fixed port, kept across the restart
	KeyLimit    int           // daily limit of the keys driven past their limit
	Out         string        // directory for soak.txt and soak.png
}

func loadConfig(args []string) (config, error) {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	c := config{}
	dur, err := envDuration("SOAK_DURATION", 5*time.Minute)
	if err != nil {
		return c, err
	}
	conc, err := envInt("SOAK_CONCURRENCY", 16)
	if err != nil {
		return c, err
	}
	port, err := envInt("SOAK_STORE_PORT", 18470)
	if err != nil {
		return c, err
	}
	limit, err := envInt("SOAK_KEY_LIMIT", 300)
	if err != nil {
		return c, err
	}
	outage, err := envDuration("SOAK_OUTAGE", 0)
	if err != nil {
		return c, err
	}
	out := os.Getenv("SOAK_OUT")
	if out == "" {
		out = "docs"
	}
	fs.DurationVar(&c.Duration, "duration", dur, "how long the load runs (SOAK_DURATION)")
	fs.IntVar(&c.Concurrency, "concurrency", conc, "requests in flight (SOAK_CONCURRENCY)")
	fs.DurationVar(&c.Outage, "outage", outage, "store downtime in the middle; 0: duration/15, 3s to 20s (SOAK_OUTAGE)")
	fs.IntVar(&c.StorePort, "store-port", port, "dynalite's fixed port (SOAK_STORE_PORT)")
	fs.IntVar(&c.KeyLimit, "key-limit", limit, "daily limit of the keys driven past it (SOAK_KEY_LIMIT)")
	fs.StringVar(&c.Out, "out", out, "directory for soak.txt and soak.png (SOAK_OUT)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.Outage == 0 {
		c.Outage = min(max(c.Duration/15, 3*time.Second), 20*time.Second)
	}
	switch {
	case c.Duration < 20*time.Second:
		return c, errors.New("SOAK_DURATION must be at least 20s (warm-up, outage and recovery need room)")
	case c.Concurrency < 1 || c.Concurrency > 512:
		return c, errors.New("SOAK_CONCURRENCY must be 1-512")
	case c.Outage >= c.Duration/3:
		return c, errors.New("SOAK_OUTAGE must be under a third of SOAK_DURATION")
	case c.KeyLimit < 2:
		return c, errors.New("SOAK_KEY_LIMIT must be at least 2")
	}
	return c, nil
}

func envDuration(name string, def time.Duration) (time.Duration, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: a duration such as 30s or 5m", name, s)
	}
	return d, nil
}

func envInt(name string, def int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: a whole number", name, s)
	}
	return n, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-serve" {
		os.Exit(serve())
	}
	cfg, err := loadConfig(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
	ok, err := run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "soak: "+format+"\n", args...)
}

// run does the whole soak and reports whether every check passed.
func run(cfg config) (bool, error) {
	tmp, err := os.MkdirTemp("", "keygate-soak-")
	if err != nil {
		return false, err
	}
	logf("duration %s, concurrency %d, store outage %s, work files in %s", cfg.Duration, cfg.Concurrency, cfg.Outage, tmp)

	st := &store{opts: dynalite.Options{Dir: filepath.Join(tmp, "dynalite"), Port: cfg.StorePort}}
	if err := st.start(); err != nil {
		return false, fmt.Errorf("start dynalite on port %d (set SOAK_STORE_PORT to move it): %w", cfg.StorePort, err)
	}
	defer st.stop()

	stack, err := startStack(st.endpoint(), tmp)
	if err != nil {
		return false, err
	}
	defer stack.stop()
	logf("stack at %s (pid %d), store at %s", stack.url, stack.cmd.Process.Pid, st.endpoint())

	ld := newLoad(cfg, stack.url, stack.issuer)
	if err := ld.setup(); err != nil {
		return false, fmt.Errorf("setup: %w", err)
	}
	res := ld.run(st)
	logf("load done: %d requests; checking", len(res.samples))
	time.Sleep(500 * time.Millisecond) // let the last writes land before the final reads
	chk := ld.check(res)
	res.answered = ld.answered.Load()
	stack.stop()
	res.mem = stack.samples()
	res.emf = checkEMF(filepath.Join(tmp, "emf.jsonl"), res)
	res.errorLines = countLines(filepath.Join(tmp, "stack.log"))

	rep := buildReport(cfg, res, chk)
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return false, err
	}
	if err := os.WriteFile(filepath.Join(cfg.Out, "soak.txt"), []byte(rep.text), 0o644); err != nil {
		return false, err
	}
	if err := writePlot(filepath.Join(cfg.Out, "soak.png"), cfg, res); err != nil {
		return false, fmt.Errorf("plot: %w", err)
	}
	fmt.Print(rep.text)
	logf("wrote %s and %s", filepath.Join(cfg.Out, "soak.txt"), filepath.Join(cfg.Out, "soak.png"))
	if rep.ok {
		_ = os.RemoveAll(tmp)
	} else {
		logf("FAILED; the stack's log and EMF lines are kept in %s", tmp)
	}
	return rep.ok, nil
}

// storeTimeoutMS is the stack's store deadline during the soak.
const storeTimeoutMS = 5000

// store is the dynalite the soak stops and restarts: same data directory,
// same port, so the stack's endpoint stays valid.
type store struct {
	opts dynalite.Options
	mu   sync.Mutex
	srv  *dynalite.Server
}

func (s *store) endpoint() string { return "http://127.0.0.1:" + strconv.Itoa(s.opts.Port) }

func (s *store) start() error {
	srv, err := dynalite.Start(context.Background(), s.opts)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.srv = srv
	s.mu.Unlock()
	return nil
}

func (s *store) stop() {
	s.mu.Lock()
	srv := s.srv
	s.srv = nil
	s.mu.Unlock()
	srv.Stop()
}

// stackProc is the child process hosting the stack.
type stackProc struct {
	cmd         *exec.Cmd
	stdin       io.WriteCloser
	url, issuer string
	mu          sync.Mutex
	mem         []memSample
	done        chan struct{}
	once        sync.Once
}

func startStack(endpoint, tmp string) (*stackProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve")
	cmd.Env = append(os.Environ(),
		"KEYGATE_DYNAMODB_ENDPOINT="+endpoint,
		"KEYGATE_TABLE=keygate-soak",
		// Room for the keys the soak creates; the caps are not what it tests.
		"KEYGATE_MAX_ACTIVE_KEYS=5000",
		// dynalite keeps its data in LevelDB on disk here (it must survive the
		// restart) and, on a busy 2-core machine, pauses up to ~2 s now and
		// then; a deadline above that keeps its pauses from reading as outages.
		"KEYGATE_STORE_TIMEOUT_MS="+strconv.Itoa(storeTimeoutMS),
		"SOAK_LOG_FILE="+filepath.Join(tmp, "stack.log"),
		"SOAK_EMF_FILE="+filepath.Join(tmp, "emf.jsonl"),
	)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the stack process: %w", err)
	}
	p := &stackProc{cmd: cmd, stdin: stdin, done: make(chan struct{})}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		_ = cmd.Wait()
		return nil, errors.New("the stack process exited before it was ready (see its message above)")
	}
	var r ready
	if err := json.Unmarshal(sc.Bytes(), &r); err != nil || r.URL == "" || r.Issuer == "" {
		p.stop()
		return nil, fmt.Errorf("the stack process said %q, not where it listens", sc.Text())
	}
	p.url, p.issuer = r.URL, r.Issuer
	go func() {
		defer close(p.done)
		for sc.Scan() {
			var m memSample
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.mu.Lock()
				p.mem = append(p.mem, m)
				p.mu.Unlock()
			}
		}
	}()
	return p, nil
}

func (p *stackProc) stop() {
	p.once.Do(func() {
		_ = p.stdin.Close()
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		_ = p.cmd.Wait()
	})
}

func (p *stackProc) samples() []memSample {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]memSample(nil), p.mem...)
}

func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}
