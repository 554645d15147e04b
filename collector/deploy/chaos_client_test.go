package deploy_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/telemetrybridge/telemetry/compat"
	"github.com/telemetrybridge/telemetry/exporter"
)

// The chaos round's clients are this test binary run again as a child
// (TestMain): a program that records through compat with its own spool
// directory and instance, killed at random and started again on the same
// spool.
const (
	chaosRoleEnv = "TELEMETRY_CHAOS_CHILD" // "record" or "drain"
	chaosIDEnv   = "TELEMETRY_CHAOS_ID"
	// chaosKey is the counter the clients add to; the fleet publishes it
	// as fleet_chaos.
	chaosKey = "chaos"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(chaosRoleEnv); role != "" {
		os.Exit(runChaosChild(role))
	}
	os.Exit(m.Run())
}

// runChaosChild: "record" prints "started", then for every line "add <n>"
// on its standard input adds n to chaosKey and prints "ok" once Add has
// returned, until it is killed. "drain" records nothing: it runs for
// two update intervals, stops (sending its final update) and prints
// "stopped" or the error of the stop.
func runChaosChild(role string) int {
	id, err := uuid.Parse(os.Getenv(chaosIDEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	compat.InitWithOptions(id, nil, compat.WithExporterOptions(exporter.WithRetry(exporter.RetryConfig{
		Enabled: true, InitialInterval: 100 * time.Millisecond, MaxInterval: time.Second,
		MaxElapsedTime: 20 * time.Second})))
	compat.StartEmitting()
	fmt.Println("started")
	switch role {
	case "record":
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "add "))
			if err != nil {
				fmt.Fprintln(os.Stderr, "chaos child:", err)
				return 2
			}
			compat.Add(chaosKey, n)
			fmt.Println("ok")
		}
		return 3 // the parent went away
	case "drain":
		time.Sleep(2 * chaosNextUpdate)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := compat.StopEmittingContext(ctx); err != nil {
			fmt.Println("stop:", err)
			return 0
		}
		fmt.Println("stopped")
		return 0
	}
	fmt.Fprintln(os.Stderr, "unknown chaos role", role)
	return 2
}

// chaosChild is a running child; kill ends it.
type chaosChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

func startChaosChild(role string, id uuid.UUID, endpoint, spool, logPath string) (*chaosChild, error) {
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close() // the child has its own copy
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), chaosRoleEnv+"="+role, chaosIDEnv+"="+id.String(),
		compat.EnvEndpoint+"="+endpoint, compat.EnvSpoolDir+"="+spool, compat.EnvMode+"=on",
		compat.EnvDoNotTrack+"=", compat.EnvOTelSDKDisabled+"=", compat.EnvDisabledMetrics+"=", compat.EnvMetricTypes+"=")
	cmd.Stderr = log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &chaosChild{cmd: cmd, stdin: stdin, lines: make(chan string, 4), done: make(chan struct{})}
	// Wait closes stdout once the child has ended, so it runs only after
	// everything the child printed was read: a child's last line ("stopped")
	// is never lost to an early Wait.
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		_ = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// expect waits for the next line and checks it is want.
func (c *chaosChild) expect(want string) error {
	select {
	case line, ok := <-c.lines:
		if !ok {
			return fmt.Errorf("child %d ended before printing %q", c.cmd.Process.Pid, want)
		}
		if line != want {
			return fmt.Errorf("child %d printed %q, want %q", c.cmd.Process.Pid, line, want)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("child %d printed nothing in 30 s, want %q", c.cmd.Process.Pid, want)
	}
}

// add has the child add n and returns once the child's Add has returned.
func (c *chaosChild) add(n int) error {
	if _, err := fmt.Fprintf(c.stdin, "add %d\n", n); err != nil {
		return err
	}
	return c.expect("ok")
}

// kill sends SIGKILL and waits for the child to end.
func (c *chaosChild) kill() {
	_ = c.cmd.Process.Kill()
	for range c.lines { // what it printed last, unread
	}
	<-c.done
	_ = c.stdin.Close()
}
